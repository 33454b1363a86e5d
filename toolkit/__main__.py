"""Run a pipeline notebook headless: `python -m toolkit run NOTEBOOK [-p name value ...]`.

    python -m toolkit run notebooks/style_clone.ipynb -p model openai/gpt-4o-mini -p per_voice 20

papermill fills the notebook's `parameters` cell, executes it in the notebook's folder and writes
the executed copy into the run folder. `run NOTEBOOK --help` lists the notebook's parameters. The
paths given as `data`, `folder` or `replay` are relative to where the command runs (the defaults
in the notebook, to the notebook's folder, as in JupyterLab). While it runs, each step's progress
(rows done / total, ok, failed) shows as one line per step; then the files the run wrote and each
step's counts are printed, so a script or CI log shows where the dataset is.

The kernel is another process: steps append short lines to a file named by TOOLKIT_PROGRESS
(report.progress), which this process tails. The kernel channel is encrypted (CurveZMQ) where pyzmq
supports it, else local sockets (IPC), so the kernel has no plain-TCP warning to print.
But: a notebook cell's own output stays in the executed notebook, not the terminal.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

PROGRESS = "TOOLKIT_PROGRESS"  # the file steps append "step done total ok failed" lines to
PATHS = ("data", "folder", "replay")  # parameters that name a file or folder


def _value(text: str):
    """`-p limit 20` is a number, `-p model openai/x` a string, `-p model None` the default model."""
    try:
        return json.loads(text)
    except ValueError:
        return None if text == "None" else text


def parameters(notebook: Path) -> dict:
    """The notebook's parameters cell as papermill reads it: name → default (as written), comment."""
    from papermill.inspection import inspect_notebook

    if not notebook.is_file():
        raise SystemExit(f"{notebook}: no such notebook")
    return inspect_notebook(str(notebook))


def describe(notebook: Path) -> str:
    """The notebook's parameters for --help: each with its default (a path as seen from here) and
    the comment beside it in the parameters cell."""
    declared = parameters(notebook)
    rows = []
    for name, p in declared.items():
        default, comment = p["default"], p["help"]
        if name == "replay":  # see run(): headless runs call the model
            default, comment = "None", f"{comment}; headless runs call the model unless given".lstrip("; ")
        elif name in PATHS and default != "None":
            path = (notebook.parent / ast.literal_eval(default)).resolve()
            default = f'"{os.path.relpath(path) if path.is_relative_to(Path.cwd()) else path}"'
        rows.append((f"{name} = {default}", comment))
    width = max(len(left) for left, _ in rows)
    lines = [f"  {left:<{width}}  {comment}".rstrip() for left, comment in rows]
    return (f"parameters of {notebook} (-p NAME VALUE; VALUE is read as JSON, else as text; "
            f"None is None):\n" + "\n".join(lines))


def run(notebook: Path, params: dict) -> Path:
    import papermill

    declared = parameters(notebook)
    unknown = sorted(set(params) - set(declared))
    if unknown:
        raise SystemExit(f"{notebook}: no parameter named {', '.join(unknown)}; "
                         f"its parameters are: {', '.join(declared)}\n\n{describe(notebook)}")
    for name in PATHS:  # from the command line, a path is the caller's; the kernel runs in the notebook's folder
        if isinstance(params.get(name), str):
            params[name] = os.path.abspath(params[name])
    if "folder" not in declared:
        raise SystemExit(f"{notebook}: its parameters cell needs a `folder` parameter (the run folder)")
    if "replay" in declared:
        params.setdefault("replay", None)  # headless runs call the model; replay is for nbval
    run_dir = notebook.parent / (params.get("folder") or ast.literal_eval(declared["folder"]["default"]))
    run_dir = run_dir.resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    output = run_dir / notebook.name
    with tempfile.TemporaryDirectory(prefix="toolkit-progress-") as tmp, \
            Tail(Path(tmp) / "progress.tsv", Progress(sys.stdout)) as tail:
        os.environ[PROGRESS] = str(tail.path)  # the kernel inherits it
        try:
            papermill.execute_notebook(str(notebook), str(output), parameters=params,
                                       cwd=str(notebook.parent), progress_bar=False,
                                       log_output=False, config=_quiet_kernel())
        except papermill.PapermillExecutionError as e:
            tail.stop()
            raise SystemExit(f"{notebook}: cell [{e.exec_count}] raised {e.ename}: {e.evalue}\n"
                             f"The executed notebook, with the full traceback: {output}") from None
        finally:
            os.environ.pop(PROGRESS, None)
    return run_dir


def _quiet_kernel():
    """Kernel config: encrypt the kernel channel (or use local sockets) instead of plain TCP, and
    keep the kernel process's own log to fatal errors: jupyter_client interrupts the kernel before
    shutting it down, which it may log as "KeyboardInterrupt caught in kernel" after a clean run.
    A cell's error still stops the run and is reported with the executed notebook."""
    import zmq
    from jupyter_client.manager import KernelManager
    from traitlets.config import Config

    curve = zmq.has("curve") and KernelManager.class_traits().get("transport_encryption")
    channel = {"transport_encryption": "auto"} if curve else {"transport": "ipc"}
    return Config({"KernelManager": channel,
                   "NotebookClient": {"extra_arguments": ["--IPKernelApp.log_level=CRITICAL"]}})


class Progress:
    """One line per step run: rewritten in place on a terminal; in a log, printed when the step
    ends (and every 10 s while a long one runs)."""

    def __init__(self, out):
        self.out, self.tty = out, out.isatty()
        self.open: str | None = None  # the step whose line the cursor is on (terminal only)
        self.printed: dict[str, float] = {}

    def __call__(self, step: str, done: int, total: int, ok: int, failed: int) -> None:
        line, end = f"{step}: {done}/{total} rows, {ok} ok, {failed} failed", done >= total
        if self.tty:
            if self.open not in (None, step):
                self.out.write("\n")  # another step's line stays as it was
            self.out.write("\r\033[K" + line + ("\n" if end else ""))
            self.open = None if end else step
        else:
            now = time.monotonic()
            if end or now - self.printed.setdefault(step, now) >= 10:
                self.printed[step] = now
                self.out.write(line + "\n")
            if end:
                del self.printed[step]  # the step's next run starts a new line
        self.out.flush()


class Tail:
    """Follow the progress file in a thread; hand each complete line to `show`."""

    def __init__(self, path: Path, show):
        self.path, self.show = path, show
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="progress", daemon=True)

    def __enter__(self) -> Tail:
        self.path.touch()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _follow(self) -> None:
        pending = ""
        with open(self.path, encoding="utf-8") as f:
            while True:
                stopping = self._stop.wait(0.2)  # a display refresh rate, not a synchronisation
                pending += f.read()
                *lines, pending = pending.split("\n")
                for line in lines:
                    step, *numbers = line.split("\t")
                    self.show(step, *map(int, numbers))
                if stopping:
                    return


def report(run_dir: Path, seconds: float) -> None:
    """Where the outputs are, each step's latest counts and each judge filter from the manifest."""
    print(f"run folder: {run_dir}  ({seconds:.0f} s)")
    for path in sorted(p for p in run_dir.rglob("*") if p.is_file() and "cache.sqlite" not in p.name):
        print(f"  {path.relative_to(run_dir)}  ({path.stat().st_size:,} bytes)")
    from .report import read_manifest

    manifest = read_manifest(run_dir)
    for s in {s["step"]: s for s in manifest["step"]}.values():  # each step's latest run
        print(f"step {s['step']}: {s['rows']} rows, {s['ok']} ok, {s['failed']} failed, "
              f"{s['skipped']} skipped (prompt {s['prompt_version']}, {s['model']})")
    for f in manifest["filter"]:
        a = f["agreement"]
        how = "calibrated" if f["calibrated"] else "not calibrated: trust_judge=True"
        kappa = "κ undefined" if a["kappa"] is None else f"κ {a['kappa']:.2f}"
        print(f"judge {f['filter']} filtered {f['judged']}: {f['dropped']} of {f['rows']} rows dropped "
              f"({how}; {kappa} on {a['n']} of your labels)")
    if manifest["other"]:
        print(f"  ({len(manifest['other'])} manifest lines of a kind this toolkit does not know)")


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    ap = argparse.ArgumentParser(prog="python -m toolkit", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="execute a pipeline notebook headless", epilog=_epilog(argv),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("notebook", type=Path)
    r.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                   metavar=("NAME", "VALUE"), help="set a parameter of the notebook")
    args = ap.parse_args(argv)
    params = {name: _value(value) for name, value in args.parameter}
    start = time.monotonic()
    run_dir = run(args.notebook, params)
    report(run_dir, time.monotonic() - start)


def _epilog(argv) -> str:
    """For `run --help`: the parameters of the notebook named, or the notebooks there are to name."""
    named = [Path(a) for a in argv[1:] if a.endswith(".ipynb")][:1]
    if named and named[0].is_file():
        return describe(named[0])
    found = sorted(Path("notebooks").glob("*.ipynb"))
    return ("python -m toolkit run NOTEBOOK --help lists that notebook's parameters"
            + "".join(f"\n  {nb}" for nb in found))


if __name__ == "__main__":
    sys.exit(main())
