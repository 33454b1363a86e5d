"""The package's layering, read from the source with ast: what may import what, and no import cycle.

frame.py (the step-frame contract) and outputs.py (an output's text, hash and staleness) are at the
bottom; the call layer, the runner and export above them; decisions/ (every label, pick and verdict
stored) below the judge, agreement, keep and the funnel; the review widgets (review/) on top, and
nothing below imports them.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "toolkit"


def _modules():
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()


def _imports(name, top_level_only):
    """The toolkit modules `name` imports (every import, or only those run when it is imported),
    with the parent packages Python runs first (importing toolkit.review.labels runs toolkit.review)."""
    path = MODULES[name]
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    targets = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1] + [node.module or ""]).strip(".") \
                if node.level else node.module
            subs = {f"{base}.{a.name}" for a in node.names} & MODULES.keys()
            targets |= subs or {base}
        elif isinstance(node, ast.Import):
            targets |= {a.name for a in node.names}
    out = set()
    for target in targets & MODULES.keys():
        parts = target.split(".")
        out |= {".".join(parts[:k]) for k in range(1, len(parts) + 1)}
    return out & MODULES.keys() - {name} - {".".join(name.split(".")[:k]) for k in range(1, len(name.split(".")))}


def test_the_module_list_is_read():
    assert {"toolkit.frame", "toolkit.export", "toolkit.decisions.preferences", "toolkit.llm.llm"} <= MODULES.keys()
    assert "toolkit.frame" in _imports("toolkit.export", top_level_only=True)
    assert "toolkit.decisions.store" in _imports("toolkit.judge", top_level_only=False)
    # importing a module of a package runs the package first
    assert "toolkit.decisions" in _imports("toolkit.agreement", top_level_only=True)


def _importers_of(package):
    """{module: the modules of `package` it imports (at import or inside a function)} for every
    module outside `package` that imports any, toolkit/__init__.py (the public names) aside."""
    found = {m: sorted(i for i in _imports(m, top_level_only=False) if i == package or i.startswith(package + "."))
             for m in MODULES if m != "toolkit" and not m.startswith(package)}
    return {m: i for m, i in found.items() if i}


def test_nothing_below_the_review_widgets_imports_them():
    """The review package is the UI, on top: decisions, judges, agreement, keep, funnel and export
    (what decides what a dataset keeps) never reach up into it."""
    assert _importers_of("toolkit.review") == {}


def test_decisions_import_no_ui_and_nothing_that_decides_with_them():
    """decisions/ sits below the judge, agreement and keep: it imports the frame contract, outputs,
    files, prompts and stats, never the widgets or the modules that read decisions."""
    below = {"toolkit.frame", "toolkit.outputs", "toolkit.files", "toolkit.prompts", "toolkit.stats", "toolkit.moved"}
    for m in (m for m in MODULES if m.startswith("toolkit.decisions")):
        assert _imports(m, top_level_only=False) - below - {m for m in MODULES if m.startswith("toolkit.decisions")} \
            == set(), m


def test_outputs_and_the_frame_contract_sit_at_the_bottom():
    assert _imports("toolkit.outputs", top_level_only=False) == set()


def test_the_frame_contract_imports_no_toolkit_module():
    assert _imports("toolkit.frame", top_level_only=False) == set()


def test_the_call_layer_imports_nothing_above_it():
    above = {m: sorted(i for i in _imports(m, top_level_only=False) if not i.startswith("toolkit.llm"))
             for m in MODULES if m.startswith("toolkit.llm")}
    assert {m: i for m, i in above.items() if i} == {}


def test_the_lower_layers_do_not_import_what_sits_above_them():
    lower = [m for m in MODULES if m.startswith("toolkit.llm") or m in
             ("toolkit.frame", "toolkit.outputs", "toolkit.export", "toolkit.steps", "toolkit.results",
              "toolkit.report", "toolkit.stream", "toolkit.batch", "toolkit.files", "toolkit.prompts",
              "toolkit.parsing", "toolkit.schema")]
    above = ("toolkit.review", "toolkit.decisions", "toolkit.judge", "toolkit.agreement", "toolkit.keep")
    wrong = {m: sorted(i for i in _imports(m, top_level_only=False) if i.startswith(above)) for m in lower}
    assert {m: i for m, i in wrong.items() if i} == {}


@pytest.mark.parametrize("top_level_only", [True, False], ids=["at import", "any import, inside functions too"])
def test_no_import_cycle(top_level_only):
    """No circle, not even one broken by an import inside a function (labels.py and store.py had one)."""
    graph = {m: _imports(m, top_level_only=top_level_only) for m in MODULES}
    state, cycles = {}, []

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(path[path.index(nxt):] + [node, nxt])
            elif nxt not in state:
                visit(nxt, path + [node])
        state[node] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [])
    assert cycles == []


def test_the_corrected_text_has_one_rule_that_every_reader_calls():
    """A correction stands in place of the model's text by frame.corrected alone: keep, the exports,
    the card and the funnel call it (or its row mask), and no other module spells the column's name."""
    callers = {}
    for name in ("toolkit.keep", "toolkit.export", "toolkit.card", "toolkit.funnel"):
        tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
        callers[name] = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module == "frame"
                         for a in n.names if a.name.startswith("corrected")}
    assert all(callers.values()), callers
    spelled = [m for m, path in MODULES.items() if m != "toolkit.frame" and any(
        isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value.endswith(".corrected")
        for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))))]
    assert spelled == []
