"""A real JupyterLab on 127.0.0.1 driven by Debian's Chromium via Playwright: what the browser
tests and benchmarks/bench_viewer.py share.

But: one notebook per server; no other browser than Chromium.
"""

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from tests.loopback import free_port

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[1]

SETTINGS = {
    # no "select kernel" dialog, no news prompt over the page
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"autoStartDefaultKernel": True},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
}
KERNEL_IDLE = """() => {
    const context = window.jupyterapp?.shell?.currentWidget?.sessionContext;
    return context?.isReady && context.session?.kernel?.status === "idle";
}"""
# An empty, silent request to the notebook's kernel, resolved once it is answered.
CAUGHT_UP = """async () => {
    const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
    await kernel.requestExecute({code: "", silent: true, store_history: false}).done;
    return true;
}"""




def require_browser():
    """Skip with a reason outside CI; in CI (env CI set) a missing browser is a failure."""
    reason = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "Python playwright is not installed (pip install -e '.[dev]')"
    if not os.path.exists(CHROMIUM):
        reason = f"{CHROMIUM} is missing (apt-get install -y chromium)"
    if reason and os.environ.get("CI"):
        pytest.fail(reason)
    if reason:
        pytest.skip(reason)


def start_lab(tmp, cells):
    """JupyterLab in its own tmp dirs on a free port serving demo.ipynb made of `cells`, the kernel
    being this interpreter."""
    root, settings = tmp / "root", tmp / "settings"
    for name, value in SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(value))
    root.mkdir()
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, root / "demo.ipynb")
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(settings), JUPYTERLAB_WORKSPACES_DIR=str(tmp / "ws"),
               JUPYTER_RUNTIME_DIR=str(tmp / "runtime"), JUPYTER_CONFIG_DIR=str(tmp / "config"),
               JUPYTER_DATA_DIR=str(tmp / "data"), IPYTHONDIR=str(tmp / "ipython"),
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    port = free_port()
    log = open(tmp / "lab.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--ServerApp.ip=127.0.0.1", f"--port={port}",
         "--no-browser", "--IdentityProvider.token=", "--ServerApp.password=",
         "--LabApp.expose_app_in_browser=True", f"--ServerApp.root_dir={root}",
         "--ServerApp.allow_root=True"],  # CI containers run as root
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=2)
            return proc, port, root
        except OSError:
            time.sleep(0.3)
    stop(proc)
    pytest.fail(f"JupyterLab did not start:\n{(tmp / 'lab.log').read_text()[-3000:]}")


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)  # its own session: the server and the kernel it started
        proc.wait()


def launch(pw):
    return pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
        "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"])


def open_notebook(browser, port, widgets=2):
    """The demo notebook with every cell run and its `widgets` review widgets drawn."""
    from playwright.sync_api import expect

    expect.set_options(timeout=30_000)  # a loaded 2-core CI machine: DOM waits, generous bound
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(60_000)
    page.goto(f"http://127.0.0.1:{port}/lab/tree/demo.ipynb")
    page.wait_for_function(KERNEL_IDLE, polling=250)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    expect(page.locator(".tkr")).to_have_count(widgets)
    return page


def kernel_caught_up(page):
    """Return once the kernel has handled every message the page sent it so far (the actions of
    keys pressed, boxes filled, buttons clicked). A key's effect on the page can show before its
    message is handled (a prefetched draw, the page's own "pending" line), or the state before it
    can already look like the answer: a check after this reads what the kernel did, and the review
    store holds what it wrote. Why it works: the kernel handles one connection's messages in order
    (the widget's and this request share it), the views those messages made are sent before this
    request's answer, and JupyterLab hands each to the widget, one after another, before the next.

    Not while the kernel is held (tests/test_browser.py kernel_held): it would wait forever."""
    page.evaluate(CAUGHT_UP)


def lab_page(tmp_path, cells, widgets, width=1400, height=900, file_browser=None):
    """(JupyterLab process, playwright, browser, page, root dir) with `cells` run; the caller
    closes them with `close_lab`. `file_browser`: True opens JupyterLab's file browser in the left
    area (a laptop's cramped layout), False collapses the left area, None leaves it as it opens."""
    from playwright.sync_api import sync_playwright

    proc, port, root = start_lab(tmp_path, cells=cells)
    pw = sync_playwright().start()
    browser = launch(pw)
    page = open_notebook(browser, port, widgets=widgets)
    page.set_viewport_size({"width": width, "height": height})
    if file_browser:
        page.evaluate("window.jupyterapp.commands.execute('filebrowser:activate')")
        page.wait_for_selector(".jp-FileBrowser", state="visible")
    elif file_browser is False:
        page.evaluate("window.jupyterapp.shell.collapseLeft()")
    return proc, pw, browser, page, root


def close_lab(proc, pw, browser):
    try:
        browser.close()
        pw.stop()
    finally:
        stop(proc)
