"""The Numba cache: keyed by the environment, verified before it is loaded, and never fatal.

A compiled entry depends on more than its source: one compiled where SciPy was
installed and loaded where it is not killed the interpreter ("BLAS wrapper
returned with an error", exit 134). Each test here writes a cache in one
process and reads it in another, as a user's two environments would.
"""

import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

import symbptt
from symbptt.codegen import jit

from ..helpers import library

# each test compiles in a new process and reads the cache from another: seconds each, run with the slow tests
slow = pytest.mark.slow

# A matrix product: Numba compiles it into a call of SciPy's BLAS, the dependency that was not recorded.
SOURCE = textwrap.dedent("""\
    import numba


    @numba.njit(cache=True)
    def core(A, B):
        return A @ B
    """)

COMPILE = textwrap.dedent("""\
    import json, sys
    import numpy as np
    from symbptt.codegen import jit
    import numba
    module = jit.load(sys.argv[1])
    matrix = numba.types.Array(numba.float64, 2, "C")
    seconds = jit.compile_cached(module, "core", (matrix, matrix))
    product = module.core(np.eye(2), np.arange(4.0).reshape(2, 2))
    print(json.dumps({"seconds": seconds, "product": product.tolist(), "folder": str(jit.cache_folder())}))
    """)

NO_SCIPY = "import sys\nsys.modules['scipy'] = None  # as in an environment without SciPy\n"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    library("numba")
    library("scipy")
    monkeypatch.setenv("SYMBPTT_CACHE", str(tmp_path / "cache"))
    jit._USABLE.clear()
    return tmp_path / "cache"


def _python(code, *args, env=None):
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})}, check=False)


def _compile_in_a_new_process():
    run = _python(COMPILE, SOURCE)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["product"] == [[0.0, 1.0], [2.0, 3.0]]
    return result


@slow
def test_an_entry_is_loaded_by_the_next_process_and_recorded_in_a_manifest(cache):
    first = _compile_in_a_new_process()
    folder = Path(first["folder"])
    assert folder.parent == cache / "numba" and folder.name == jit.environment_key()
    manifest = json.loads(next(folder.glob("*.manifest.json")).read_text())
    assert any(name.endswith(".nbc") for name in manifest) and any(name.endswith(".nbi") for name in manifest)
    assert jit.compiled(SOURCE)
    second = _compile_in_a_new_process()
    assert second["folder"] == first["folder"]


@slow
@pytest.mark.parametrize("damage", ["garbage machine code", "truncated index", "no manifest", "foreign manifest"])
def test_a_damaged_entry_is_compiled_again_never_loaded(cache, damage):
    folder = Path(_compile_in_a_new_process()["folder"])
    code = next((folder / "__pycache__").glob("*.nbc"))
    index = next((folder / "__pycache__").glob("*.nbi"))
    manifest = next(folder.glob("*.manifest.json"))
    if damage == "garbage machine code":
        code.write_bytes(os.urandom(code.stat().st_size))
    elif damage == "truncated index":
        index.write_bytes(index.read_bytes()[:10])
    elif damage == "no manifest":  # left by a version of symbptt before manifests, or a half-finished compile
        manifest.unlink()
    else:
        manifest.write_text(json.dumps({code.name: "0" * 64}))
    assert not jit.compiled(SOURCE)
    _compile_in_a_new_process()  # deleted, compiled again, and correct
    assert jit.compiled(SOURCE)


@slow
def test_a_cache_written_with_scipy_is_never_seen_without_it(cache):
    """The crash of the issue: the entry is in another folder, the backend refuses in one line, auto takes NumPy."""
    _compile_in_a_new_process()
    script = NO_SCIPY + textwrap.dedent("""\
        from symbptt.codegen import jit
        from symbptt.gradient import backends
        print(jit.compiled(sys.argv[1]), backends.numba_installed(), jit.environment()["scipy"])
        try:
            jit.load(sys.argv[1])
        except Exception as exc:
            print(type(exc).__name__, exc)
        """)
    run = _python(script, SOURCE)
    assert run.returncode == 0, run.stderr
    seen, message = run.stdout.splitlines()
    assert seen == "False False none"
    assert message.startswith("NotSupportedError backend 'numba' needs SciPy")


@slow
def test_a_model_compiled_with_scipy_runs_on_numpy_without_it(numba_cache):
    """``compile_gradient`` with the default backend in an environment without SciPy, beside a cache where the
    model is compiled: the NumPy backend, the right numbers, no crash."""
    symbptt.compile_gradient("elman", backend="numba")  # compiled into the shared cache (or loaded from it)
    script = NO_SCIPY + textwrap.dedent("""\
        import numpy as np
        import symbptt
        rng = np.random.default_rng(0)
        params = {"W_hx": rng.normal(size=(3, 2)), "W_hh": rng.normal(size=(3, 3)) / 3, "b_h": np.zeros(3),
                  "W_qh": rng.normal(size=(2, 3)), "b_q": np.zeros(2)}
        grad = symbptt.compile_gradient("elman")
        out = grad(params, rng.normal(size=(5, 2, 2)), rng.normal(size=(5, 2, 2)))
        print(repr(out["loss"]), sorted(grad.compile_seconds))
        """)
    run = _python(script, env={"SYMBPTT_CACHE": str(numba_cache)})
    assert run.returncode == 0, run.stderr
    loss, backends_used = run.stdout.strip().split(" ", 1)
    assert backends_used == "['numpy']"
    assert np.isfinite(float(loss))


@slow
@pytest.mark.parametrize("where", ["a file", "a read-only folder"])
def test_a_cache_folder_that_cannot_be_written_is_no_cache_with_one_warning(tmp_path, monkeypatch, where):
    library("numba")
    library("scipy")
    if where == "a file":
        target = tmp_path / "not-a-folder"
        target.write_text("")
    else:
        if os.geteuid() == 0:  # root writes into a read-only folder: model it by a folder inside a file instead
            (tmp_path / "ro").write_text("")
            target = tmp_path / "ro" / "cache"
        else:
            target = tmp_path / "ro"
            target.mkdir(mode=0o500)
    monkeypatch.setenv("SYMBPTT_CACHE", str(target))
    jit._USABLE.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first, second = jit.cache_folder(), jit.cache_folder()
    assert first == second and first.is_dir() and not str(first).startswith(str(target))
    assert len(caught) == 1 and issubclass(caught[0].category, jit.CacheWarning)
    assert str(target) in str(caught[0].message) and "\n" not in str(caught[0].message)
    jit._USABLE.clear()
    with warnings.catch_warnings():  # auto only looks: a folder it cannot use is no reason to warn
        warnings.simplefilter("error")
        assert not jit.compiled(SOURCE)
    run = _python(COMPILE, SOURCE, env={"SYMBPTT_CACHE": str(target)})
    assert run.returncode == 0, run.stderr
    assert run.stderr.count("CacheWarning") == 1
    assert not Path(json.loads(run.stdout)["folder"]).exists()  # removed when the process ended


def test_the_key_changes_with_each_dependency(monkeypatch):
    base = jit.environment_key()
    for name in ("symbptt", "numba", "numpy", "scipy", "python", "cpu"):
        changed = {**jit.environment(), name: "another"}
        monkeypatch.setattr(jit, "environment", lambda changed=changed: changed)
        assert jit.environment_key() != base, name
