"""The package's layering, read from the source with ast: what may import what, and no import cycle.

frame.py (the step-frame contract) is at the bottom; the call layer, the runner and export sit below
the review package, which owns review decisions and nothing else.
"""

import ast
from pathlib import Path

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
    assert {"toolkit.frame", "toolkit.export", "toolkit.review.preferences", "toolkit.llm.llm"} <= MODULES.keys()
    assert "toolkit.frame" in _imports("toolkit.export", top_level_only=True)
    assert "toolkit.agreement" in _imports("toolkit.export", top_level_only=False)  # keep()'s lazy import


def test_lower_layers_do_not_import_the_review_package():
    lower = [m for m in MODULES if m.startswith("toolkit.llm") or m in
             ("toolkit.frame", "toolkit.export", "toolkit.steps", "toolkit.report", "toolkit.stream",
              "toolkit.batch", "toolkit.files", "toolkit.prompts", "toolkit.parsing", "toolkit.schema")]
    wrong = {m: sorted(i for i in _imports(m, top_level_only=False) if i.startswith("toolkit.review"))
             for m in lower}
    assert {m: i for m, i in wrong.items() if i} == {}


def test_the_frame_contract_imports_no_toolkit_module():
    assert _imports("toolkit.frame", top_level_only=False) == set()


def test_the_call_layer_imports_nothing_above_it():
    above = {m: sorted(i for i in _imports(m, top_level_only=False) if not i.startswith("toolkit.llm"))
             for m in MODULES if m.startswith("toolkit.llm")}
    assert {m: i for m, i in above.items() if i} == {}


def test_no_import_cycle():
    graph = {m: _imports(m, top_level_only=True) for m in MODULES}
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
