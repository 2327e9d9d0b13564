"""The Numba module as a file, compiled once and cached across processes.

Numba caches a compiled function beside the file that defines it, so the
generated module is written to the cache folder under a name made from a hash
of its source (one file per source, never rewritten), imported from there,
and its ``core`` compiled for the one signature the wrapper ever passes
(C-contiguous float64 arrays, int64 lengths). A later process with the same
source finds the machine code in the folder's ``__pycache__`` and loads it.

The folder is keyed by everything the machine code depends on besides its
source (:func:`environment`: this package's, Numba's, NumPy's and SciPy's
versions, Python, the processor), and each entry's files are recorded in a
manifest when compiled: an entry of another environment is never seen, and a
damaged one is deleted and compiled again, never loaded.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

from symbptt import files
from symbptt._version import __version__
from symbptt.derive import strategies
from symbptt.derive.reverse import ReverseStep
from symbptt.errors import NotSupportedError
from symbptt.model import sequences


def numba_module() -> ModuleType:
    """Numba itself, or a one-line error that says how to install it (and SciPy, whose BLAS its products call)."""
    try:
        import numba  # noqa: PLC0415  (optional: imported only when the backend is asked for)
    except ImportError:
        msg = "backend 'numba' needs Numba, which is not installed: pip install 'symbptt[numba]'"
        raise NotSupportedError(msg) from None
    if scipy_version() is None:  # without it a matrix product fails to compile, or a cached one kills the process
        msg = ("backend 'numba' needs SciPy for its matrix products (Numba calls SciPy's BLAS), which is not "
               "installed: pip install 'symbptt[numba]'")
        raise NotSupportedError(msg)
    return numba


def scipy_version() -> str | None:
    """SciPy's version if it imports here, else None: compiled code that calls its BLAS depends on it."""
    try:
        import scipy  # noqa: PLC0415  (optional; the top-level import is cheap, its submodules load lazily)
    except ImportError:
        return None
    return str(scipy.__version__)


def environment() -> dict[str, str]:
    """Everything compiled machine code depends on besides its source: a cache entry is used only where all agree.

    An entry compiled where SciPy was installed, loaded where it is not, kills the interpreter ("BLAS wrapper
    returned with an error"); other versions or another processor may as well.
    """
    versions = {name: _installed(name) for name in ("numba", "llvmlite", "numpy")}
    return {"symbptt": __version__, **versions, "scipy": scipy_version() or "none",
            "python": f"{sys.implementation.name} {sys.version}", "machine": platform.machine(), "cpu": _cpu()}


def _installed(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "none"


@functools.cache
def _cpu() -> str:
    """The processor's model and its features (Linux's /proc/cpuinfo; elsewhere what the platform says)."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return platform.processor()
    wanted = ("model name", "flags", "features", "cpu part", "cpu implementer")
    lines = [line for line in text.splitlines() if line.split(":")[0].strip().lower() in wanted]
    return "\n".join(dict.fromkeys(" ".join(line.split()) for line in lines))


def environment_key() -> str:
    return hashlib.sha256(json.dumps(environment(), sort_keys=True).encode()).hexdigest()[:16]


class CacheWarning(RuntimeWarning):
    """The cache folder cannot be written: compiled code is kept for this process only."""


def cache_folder() -> Path:
    """``$SYMBPTT_CACHE``, else ``$XDG_CACHE_HOME/symbptt`` (``~/.cache/symbptt``), then ``numba/`` and the
    :func:`environment_key`; where that cannot be written, a temporary folder removed at exit, with one
    :class:`CacheWarning` (nothing outlives the process)."""
    configured = _configured()
    if configured not in _USABLE:
        _USABLE[configured] = _usable(configured)
    return _USABLE[configured]


def _configured() -> Path:
    """Where the cache folder of this environment is meant to be, whether or not it exists or can be written."""
    try:
        home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "symbptt"
    except RuntimeError:  # no home directory can be determined
        home = Path(tempfile.gettempdir()) / "symbptt-cache-unset"
    return Path(os.environ.get("SYMBPTT_CACHE") or home) / "numba" / environment_key()


_USABLE: dict[Path, Path] = {}  # each configured folder, and the one used for it in this process


def _usable(folder: Path) -> Path:
    """``folder`` if it can be written, else a temporary one (asked once per process and folder)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-"):
            pass
        return folder
    except OSError as exc:
        scratch = Path(tempfile.mkdtemp(prefix="symbptt-numba-"))
        atexit.register(shutil.rmtree, scratch, ignore_errors=True)
        reason = exc.strerror or type(exc).__name__
        warnings.warn(CacheWarning(f"the Numba cache folder {folder} cannot be written ({reason}): compiled code "
                                   "is kept for this process only (set SYMBPTT_CACHE to a folder you can write)"),
                      stacklevel=2)
        return scratch


def _name(source: str) -> str:
    return f"symbptt_jit_{hashlib.sha256(source.encode()).hexdigest()[:20]}"


def _entries(name: str, folder: Path) -> list[Path]:
    """Numba's files of the module ``name``: its index (.nbi) and machine code (.nbc) in ``__pycache__``."""
    return sorted((folder / "__pycache__").glob(f"{name}.*.nb[ic]"))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _manifest(name: str, folder: Path) -> Path:
    return folder / f"{name}.manifest.json"


def _verified(name: str, folder: Path) -> bool:
    """Numba's files of ``name`` are exactly those this package wrote after compiling, byte for byte."""
    try:
        recorded = json.loads(_manifest(name, folder).read_text())
        present = {p.name: _digest(p) for p in _entries(name, folder)}
    except (OSError, ValueError):
        return False
    return bool(present) and recorded == present


def compiled(source: str) -> bool:
    """Whether ``core`` of ``source`` is compiled in the cache folder, intact (by this process or an earlier one).

    Only looked up: a folder that does not exist, or cannot be written, is not made or warned about here (auto
    asks this of every narrow model, whether or not Numba is ever used)."""
    configured = _configured()
    return _verified(_name(source), _USABLE.get(configured, configured))


def compile_cached(module: ModuleType, function: str, signature: tuple[Any, ...]) -> float:
    """Compile ``module.function`` for ``signature``, or load it from the cache if the entry is intact; the seconds.

    An entry that does not match its manifest (damaged, half written, or left by another version of this package)
    is deleted first, so Numba compiles it again instead of loading it.
    """
    name, folder = module.__name__, Path(str(module.__file__)).parent  # the folder it was loaded from
    if not _verified(name, folder):
        for path in _entries(name, folder):
            path.unlink(missing_ok=True)
    start = time.perf_counter()
    getattr(module, function).compile(signature)
    seconds = time.perf_counter() - start
    if not _verified(name, folder):
        present = {p.name: _digest(p) for p in _entries(name, folder)}
        files.write_text(_manifest(name, folder), json.dumps(present, sort_keys=True))
    return seconds


def load(source: str) -> ModuleType:
    """The module of ``source``, written to the cache folder (once: the name is the source's hash) and imported."""
    numba_module()
    name = _name(source)
    path = cache_folder() / f"{name}.py"
    try:
        current = path.read_text()
    except (OSError, UnicodeDecodeError):
        current = None
    if current != source:
        files.write_text(path, source)  # renamed into place: a concurrent process never imports half a file
    if name in sys.modules:  # the same source, already loaded in this process
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        msg = f"cannot import the generated module {path}"
        raise NotSupportedError(msg)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # Numba's cache finds a compiled function's globals by the module's name
    spec.loader.exec_module(module)
    return module


def signature(step: ReverseStep, strategy: strategies.Strategy) -> tuple[Any, ...]:
    """The Numba types of ``core``'s arguments, as the wrapper passes them."""
    numba = numba_module()

    def array(ndim: int) -> Any:
        return numba.types.Array(numba.float64, ndim, "C")

    cell = step.cell
    types = [array(1 if W.shape[1] == 1 else 2) for W in cell.params]
    types += [array(3), array(3)] + [array(3) for _ in sequences.inputs(cell, step.weight)]
    types += [array(2) for _ in cell.state]
    types += [numba.int64 for _ in strategy.symbols]
    types += [array(1)] if isinstance(strategy, strategies.Randomized) else []
    return tuple(types)


def compile_core(module: ModuleType, step: ReverseStep, strategy: strategies.Strategy) -> float:
    """Compile (or load from the cache) ``core`` for its one signature; the seconds it took."""
    return compile_cached(module, "core", signature(step, strategy))
