"""The viewer in a real browser: JupyterLab on 127.0.0.1, driven by Debian's Chromium via Playwright.

The pure-Python tests cannot see what the frontend does with a widget's HTML (ipywidgets.HTML sets
innerHTML), nor whether a click reaches the kernel and comes back; this test can. In CI it fails
when the browser is missing instead of skipping, so a broken image cannot pass silently.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "test-output" / "browser"
XSS = '<img src=x onerror="window.__xss=1">'
DEMO = f"""\
import pandas as pd
from toolkit.review.viewer import show

df = pd.DataFrame({{
    "chunk_id": ["first", "second"],
    "source": ["demo.txt", "demo.txt"],
    "text": ["The cat sat on the mat.", {XSS!r} + " raw second"],
    "generic": ["The dog sat on the mat. " + {XSS!r}, "generated second " + {XSS!r}],
    "generic.status": ["ok", "failed"],
}})
show(df, right="generic", folder="run")
"""
# Positive control: the same payload in a bare ipywidgets.HTML does run, so the check below can fail.
CONTROL = """\
import ipywidgets
ipywidgets.HTML('<img src=x onerror="window.__control=1">')
"""
SETTINGS = {
    # no "select kernel" dialog, no news prompt over the page
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"autoStartDefaultKernel": True},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
}
KERNEL_IDLE = """() => {
    const context = window.jupyterapp?.shell?.currentWidget?.sessionContext;
    return context?.isReady && context.session?.kernel?.status === "idle";
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


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_lab(tmp):
    """JupyterLab in its own tmp dirs on a free port, the kernel being this interpreter."""
    root, settings = tmp / "root", tmp / "settings"
    for name, value in SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(value))
    root.mkdir()
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in (DEMO, CONTROL)])
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


def test_viewer_in_jupyterlab(tmp_path):
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    proc, port, root = start_lab(tmp_path)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
                "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"])
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.set_default_timeout(60_000)
                page.goto(f"http://127.0.0.1:{port}/lab/tree/demo.ipynb")
                page.wait_for_function(KERNEL_IDLE, polling=250)
                page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")

                expect(page.get_by_text("1 of 2 filtered (2 total)")).to_be_visible()
                expect(page.locator(".widget-html", has_text="The dog sat")).to_have_count(1)
                page.get_by_role("button", name="Next ▶").click()
                expect(page.get_by_text("2 of 2 filtered (2 total)")).to_be_visible()
                expect(page.locator(".widget-html", has_text="generated second")).to_have_count(1)
                expect(page.locator(".widget-html", has_text="The dog sat")).to_have_count(0)

                page.get_by_role("button", name="bad").click()
                expect(page.get_by_text("saved bad for second")).to_be_visible()
                assert json.loads((root / "run" / "labels.json").read_text()) == {
                    "second": {"label": "bad", "note": ""}}

                page.wait_for_function("window.__control === 1")
                assert page.evaluate("window.__xss") is None
                viewer = page.locator(".jp-OutputArea").first
                assert viewer.locator("img").count() == 0
                assert XSS in viewer.inner_text()
                OUT.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=OUT / "viewer.png", full_page=True)
            finally:
                browser.close()
    finally:
        stop(proc)


def test_missing_browser_fails_in_ci_and_skips_elsewhere(monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="missing"):
        require_browser()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="missing"):
        require_browser()
