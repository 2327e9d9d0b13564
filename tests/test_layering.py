"""The layering rule: each module imports only from the modules listed before it (hepunits' AGENTS.md)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "src" / "symbptt"

LAYERS = (
    "_version", "errors", "arguments",
    # model: what is differentiated
    "model.ops", "model.matrices", "model.lift", "model.cells", "model.losses", "model.formula_text", "model.formula",
    "model.scalar", "model.pair",
    "model.graph",
    "strategies",
    # derive: the symbolic work
    "derive.steps", "derive.recurrence", "derive.chain", "derive.sensitivity", "derive.forward", "derive.pair",
    "derive.rules",
    "derive.gates",
    "derive.reverse",
    # codegen: from derived equations to source
    "codegen.names", "codegen.ir", "codegen.runtime", "codegen.runtime_numba", "codegen.runtime_xp",
    "codegen.dialects", "codegen.printing", "codegen.passes", "codegen.storage",
    "codegen.loops", "codegen.blocks", "codegen.backward", "codegen.wrappers", "codegen.module", "codegen.jit",
    "codegen.program",
    "notation", "latex", "narration", "documents", "clipping", "backends", "api", "scalar_api", "checks", "evidence",
    "handout", "extend", "inputs", "files",
    "analysis.truncation", "analysis.alignment", "analysis.estimators", "analysis.spectrum",
    "analysis.training", "analysis.figures", "flags", "analyze",
    "cli",
    "__main__", "__init__",
)
# A display hook, imported when called: a derivation shows itself in a notebook through latex.
ALLOWED_BACKWARDS = {("derive.steps", "latex")}
MAX_LINES = 300


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        if name.endswith(".__init__"):
            continue  # the stage packages' __init__ hold a docstring only
        yield name, path


def imported(path):
    """The package's modules that ``path`` imports, anywhere in it."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("symbptt"):
            base = node.module.removeprefix("symbptt").lstrip(".")
            for alias in node.names:
                candidate = f"{base}.{alias.name}" if base else alias.name
                out.add(candidate if candidate in LAYERS else base or "__init__")
        elif isinstance(node, ast.Import):
            out |= {a.name.removeprefix("symbptt.") for a in node.names if a.name.startswith("symbptt.")}
    return out


def test_every_module_has_a_layer():
    assert {name for name, _ in modules()} == set(LAYERS)


@pytest.mark.parametrize(("name", "path"), list(modules()), ids=lambda v: v if isinstance(v, str) else "")
def test_imports_point_only_up_the_pipeline(name, path):
    rank = LAYERS.index(name)
    for other in imported(path):
        assert other in LAYERS, (name, other)
        if (name, other) not in ALLOWED_BACKWARDS:
            assert LAYERS.index(other) < rank, f"{name} imports {other}, which comes after it"


def test_packages_init_hold_no_imports():
    for init in PACKAGE.glob("*/__init__.py"):
        assert not [n for n in ast.parse(init.read_text()).body if isinstance(n, ast.Import | ast.ImportFrom)]


@pytest.mark.parametrize(("name", "path"), list(modules()), ids=lambda v: v if isinstance(v, str) else "")
def test_no_module_is_over_300_lines(name, path):
    assert len(path.read_text().splitlines()) <= MAX_LINES, name
