"""The README's picture, docs/img/review.png: the style_clone notebook run in a real JupyterLab and
Chromium (tests/jupyterlab.py), its first review widget on the third sample. Re-make it after a
change to the widget's look:

    .venv/bin/python -m tests.readme_picture

But: it replays the notebook's recording in a copy of notebooks/, so the repository is untouched.
"""

import shutil
import sys
import tempfile
from pathlib import Path

from tests.jupyterlab import KERNEL_IDLE, ROOT, launch, require_browser, start_lab, stop

PICTURE = ROOT / "docs" / "img" / "review.png"


def main() -> None:
    from playwright.sync_api import expect, sync_playwright

    require_browser()
    with tempfile.TemporaryDirectory() as tmp:
        proc, port, root = start_lab(Path(tmp), cells=[])
        try:
            for name in ("data", "prompts"):
                (root / name).symlink_to(ROOT / name)
            shutil.copytree(ROOT / "notebooks", root / "notebooks")
            with sync_playwright() as pw:
                browser = launch(pw)
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                page.set_default_timeout(300_000)
                page.goto(f"http://127.0.0.1:{port}/lab/tree/notebooks/style_clone.ipynb")
                page.wait_for_function(KERNEL_IDLE, polling=250)
                page.evaluate("window.jupyterapp.commands.execute('application:toggle-left-area')")
                page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
                widget = page.locator(".tkr").first
                expect(widget).to_be_visible(timeout=300_000)
                widget.scroll_into_view_if_needed()
                widget.locator(".tkr-counter").click()
                page.keyboard.press("j")
                page.keyboard.press("j")
                expect(widget.locator(".tkr-counter")).to_contain_text("3 of")
                widget.screenshot(path=str(PICTURE))
                browser.close()
        finally:
            stop(proc)
    print(PICTURE)


if __name__ == "__main__":
    sys.exit(main())
