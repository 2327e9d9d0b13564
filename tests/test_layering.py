"""The layering rule: each module imports only from the modules listed before it (hepunits' AGENTS.md)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "src" / "symbptt"

LAYERS = (
    "_version", "errors", "arguments", "inputs", "files",
    # model: what is differentiated
    "model.symbols", "model.ops", "model.matrices", "model.lift", "model.cells", "model.losses", "model.formula_text",
    "model.formula",
    "model.torch_cells", "model.stacked", "model.sequences", "model.scalar", "model.two_states",
    "model.graph",
    # derive: the symbolic work
    "derive.sampling", "derive.strategies", "derive.steps", "derive.recurrence", "derive.chain", "derive.sensitivity",
    "derive.one_state",
    "derive.two_states", "derive.size_one", "derive.rules",
    "derive.gates",
    "derive.reverse",
    "extend",
    # codegen: from derived equations to source
    "codegen.names", "codegen.ir", "codegen.runtime", "codegen.runtime_numba", "codegen.runtime_xp",
    "codegen.dialects", "codegen.printing", "codegen.passes", "codegen.storage",
    "codegen.loops", "codegen.blocks", "codegen.backward", "codegen.wrappers", "codegen.module", "codegen.jit",
    "codegen.program",
    # gradient: the compiled gradients and what acts on them
    "gradient.clipping", "gradient.backends", "gradient.calls", "gradient.api", "gradient.scalar_api",
    "gradient.checks", "gradient.pytorch",
    # document: the LaTeX output
    "document.matrix_notation", "document.notation", "document.narration", "document.latex", "document.documents",
    "document.evidence", "document.handout",
    # analysis: the section's claims measured
    "analysis.truncation", "analysis.alignment", "analysis.estimators", "analysis.spectrum",
    "analysis.training", "analysis.figures",
    # cli: the command line
    "cli.flags", "cli.analyze", "cli.commands",
    "__main__", "__init__",
)
TOP_LEVEL = {"__init__", "__main__", "_version", "errors", "arguments", "inputs", "files", "extend"}  # at most 8
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
        assert LAYERS.index(other) < rank, f"{name} imports {other}, which comes after it"


def test_the_top_level_holds_only_the_faces_and_the_ground_floor():
    """Every stage is a package; beside them, at most eight modules."""
    flat = {path.stem for path in PACKAGE.glob("*.py")}
    assert flat == TOP_LEVEL and len(flat) <= 8


def test_packages_init_hold_no_imports():
    for init in PACKAGE.glob("*/__init__.py"):
        assert not [n for n in ast.parse(init.read_text()).body if isinstance(n, ast.Import | ast.ImportFrom)]


@pytest.mark.parametrize(("name", "path"), list(modules()), ids=lambda v: v if isinstance(v, str) else "")
def test_no_module_is_over_300_lines(name, path):
    assert len(path.read_text().splitlines()) <= MAX_LINES, name


def test_no_module_uses_one_name_for_the_hidden_size_and_the_hidden_state():
    """``h`` is the hidden size in model.symbols (a matrix's shape, W_hh is (h, h)) and the state h_t in
    model.scalar (an IndexedBase): a module may import one of the two by that name, never both."""
    for name, path in modules():
        sources = {node.module for node in ast.walk(ast.parse(path.read_text()))
                   if isinstance(node, ast.ImportFrom) and any(a.name == "h" and a.asname is None for a in node.names)}
        assert not {"symbptt.model.symbols", "symbptt.model.scalar"} <= sources, name
