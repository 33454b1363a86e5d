"""Run a pipeline notebook headless: `python -m toolkit run NOTEBOOK [-p name value ...]`.

    python -m toolkit run notebooks/style_clone.ipynb -p model openai/gpt-4o-mini -p limit 20

papermill fills the notebook's `parameters` cell, executes it in the notebook's folder and writes
the executed copy into the run folder; then the files the run wrote and each step's counts are
printed, so a script or CI log shows where the dataset is.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from pathlib import Path


def _value(text: str):
    """`-p limit 20` is a number, `-p model openai/x` a string, `-p model None` the default model."""
    try:
        return json.loads(text)
    except ValueError:
        return None if text == "None" else text


def run(notebook: Path, params: dict) -> Path:
    import papermill
    from papermill.inspection import inspect_notebook

    if not notebook.is_file():
        raise SystemExit(f"{notebook}: no such notebook")
    declared = inspect_notebook(str(notebook))
    unknown = sorted(set(params) - set(declared))
    if unknown:
        raise SystemExit(f"{notebook}: no parameter named {', '.join(unknown)}; "
                         f"its parameters are: {', '.join(declared)}")
    if "folder" not in declared:
        raise SystemExit(f"{notebook}: its parameters cell needs a `folder` parameter (the run folder)")
    if "replay" in declared:
        params.setdefault("replay", None)  # headless runs call the model; replay is for nbval
    run_dir = notebook.parent / (params.get("folder") or ast.literal_eval(declared["folder"]["default"]))
    run_dir = run_dir.resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    output = run_dir / notebook.name
    papermill.execute_notebook(str(notebook), str(output), parameters=params,
                               cwd=str(notebook.parent), progress_bar=False, log_output=False)
    return run_dir


def report(run_dir: Path) -> None:
    """Where the outputs are, and the latest counts of each step from the run's manifest."""
    print(f"run folder: {run_dir}")
    for path in sorted(p for p in run_dir.rglob("*") if p.is_file() and "cache.sqlite" not in p.name):
        print(f"  {path.relative_to(run_dir)}  ({path.stat().st_size:,} bytes)")
    manifest = run_dir / "manifest.jsonl"
    if manifest.exists():
        latest = {}
        for line in manifest.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            latest[entry["step"]] = entry
        for s in latest.values():
            print(f"step {s['step']}: {s['rows']} rows, {s['ok']} ok, {s['failed']} failed, "
                  f"{s['skipped']} skipped (prompt {s['prompt_version']}, {s['model']})")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m toolkit", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="execute a pipeline notebook headless")
    r.add_argument("notebook", type=Path)
    r.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                   metavar=("NAME", "VALUE"), help="set a parameter of the notebook")
    args = ap.parse_args(argv)
    params = {name: _value(value) for name, value in args.parameter}
    report(run(args.notebook, params))


if __name__ == "__main__":
    sys.exit(main())
