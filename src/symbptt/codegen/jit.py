"""The Numba module as a file, compiled once and cached across processes.

Numba caches a compiled function beside the file that defines it, so the
generated module is written to the cache folder under a name made from a hash
of its source (one file per source, never rewritten), imported from there,
and its ``core`` compiled for the one signature the wrapper ever passes
(C-contiguous float64 arrays, int64 lengths). A later process with the same
source finds the machine code in the folder's ``__pycache__`` and loads it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from symbptt import strategies
from symbptt.derive.reverse import ReverseStep
from symbptt.errors import NotSupportedError


def numba_module() -> ModuleType:
    """Numba itself, or a one-line error that says how to install it."""
    try:
        import numba  # noqa: PLC0415  (optional: imported only when the backend is asked for)
    except ImportError:
        msg = "backend 'numba' needs Numba, which is not installed: pip install 'symbptt[numba]'"
        raise NotSupportedError(msg) from None
    return numba


def cache_folder() -> Path:
    """``$SYMBPTT_CACHE``, else ``$XDG_CACHE_HOME/symbptt`` (``~/.cache/symbptt``); a temporary folder if neither
    can be written (then nothing outlives the process)."""
    home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "symbptt"
    folder = Path(os.environ.get("SYMBPTT_CACHE") or home) / "numba"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".probe-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError:
        folder = Path(tempfile.mkdtemp(prefix="symbptt-numba-"))
    return folder


def _name(source: str) -> str:
    return f"symbptt_jit_{hashlib.sha256(source.encode()).hexdigest()[:20]}"


def compiled(source: str) -> bool:
    """Whether ``core`` of ``source`` is compiled in the cache folder (by this process or an earlier one)."""
    return any((cache_folder() / "__pycache__").glob(f"{_name(source)}.core-*.nbi"))


def load(source: str) -> ModuleType:
    """The module of ``source``, written to the cache folder (once: the name is the source's hash) and imported."""
    numba_module()
    name = _name(source)
    path = cache_folder() / f"{name}.py"
    if not path.exists() or path.read_text() != source:
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(source)
        partial.replace(path)  # atomic: a concurrent process never imports half a file
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
    types += [array(3), array(3)] + [array(2) for _ in cell.state]
    types += [numba.int64 for _ in strategy.symbols]
    types += [array(1)] if isinstance(strategy, strategies.Randomized) else []
    return tuple(types)


def compile_core(module: ModuleType, step: ReverseStep, strategy: strategies.Strategy) -> float:
    """Compile (or load from the cache) ``core`` for its one signature; the seconds it took."""
    start = time.perf_counter()
    module.core.compile(signature(step, strategy))
    return time.perf_counter() - start
