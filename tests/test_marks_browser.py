"""The viewer's marks in a real JupyterLab and Chromium at 1280×800 with the file browser open (issue
33 points 2 and 3, UI): on a tk.content_kept frame the words the rewrite lost are marked in the
source pane in the diff's "removed" colour and the invented ones in the rewrite pane in its "added"
colour, with a legend; HTML in the texts stays text. On a tk.grounding frame the sentence that
supports the answer best is highlighted in the source pane and scrolled into view when a sample
opens, also one far past the pane's first screen. After each key press the test waits for the
counter to move and the kernel's reply to be drawn (no data-pending) before it reads anything."""

import time

from tests.jupyterlab import close_lab, lab_page, require_browser

CELLS = ("""\
import pandas as pd
import toolkit as tk
from toolkit.review import show

tag = '<img src=x onerror="document.title=1">'
src = [f"In 1947 the crew left Paris for {tag} and the Parisians kept serial 19470.",
       "The second text names Oslo and 1999 and stays."]
rw = [f"The crew left for {tag} where Berlin folk met them and the Parisians kept serial 19470.",
      "The second text names Oslo and 1999 and stays, with Madrid."]
show(tk.content_kept(pd.DataFrame({"chunk_id": ["s0", "s1"], "text": src, "generic": rw})), right="generic")
""", """\
filler = lambda n: " ".join(f"Line {i} of the manual says nothing much." for i in range(n))
texts = [filler(80) + " The pump was built in 1947 in Paris by Marge. " + filler(20),
         "The valve is blue. " + filler(60) + " The filter lasts 6 months in Oslo."]
answers = ["Marge built the pump in Paris in 1947.", "The filter lasts 6 months in Oslo."]
show(tk.grounding(pd.DataFrame({"chunk_id": ["q0", "q1"], "text": texts, "answer": answers})), right="answer")
""")
REMOVED, ADDED, SUPPORT = "rgb(248, 200, 200)", "rgb(200, 240, 200)", "rgb(220, 235, 252)"
IN_VIEW = """text => {
    const marks = [...text.querySelectorAll('.tkr-support')];
    const t = text.getBoundingClientRect();
    const a = marks[0].getBoundingClientRect(), b = marks.at(-1).getBoundingClientRect();
    return {inside: a.top >= t.top - 1 && b.bottom <= t.bottom + 1 && t.bottom <= window.innerHeight && t.top >= 0,
            scrolled: text.scrollTop, text: marks.map((m) => m.textContent).join(""),
            at: [t.top, t.bottom, a.top, b.bottom, window.innerHeight, text.scrollHeight, text.clientHeight]};
}"""


def in_view(text, want):
    """What IN_VIEW reads once the pane has scrolled the support sentence `want` into view (the
    scroll runs over a few animation frames after the draw), or after 30 s whatever it reads."""
    deadline = time.monotonic() + 30
    while True:
        shown = text.evaluate(IN_VIEW)
        if (shown["inside"] and shown["scrolled"] > 0 and shown["text"] == want) or time.monotonic() > deadline:
            return shown
        time.sleep(0.1)


def moved(page, widget, counter):
    """Wait until a key press was handled: the counter moved and the kernel's reply is drawn."""
    from playwright.sync_api import expect

    expect(widget.locator(".tkr-counter")).to_have_text(counter)
    page.wait_for_function("r => !r.dataset.pending && r.dataset.id", arg=widget.element_handle())


def test_lost_and_invented_words_and_the_support_sentence_are_marked(tmp_path):
    require_browser()
    from playwright.sync_api import expect

    proc, pw, browser, page, _ = lab_page(tmp_path, CELLS, widgets=2, width=1280, height=800, file_browser=True)
    try:
        kept, grounded = page.locator(".tkr").nth(0), page.locator(".tkr").nth(1)
        kept.evaluate("r => r.scrollIntoView({block: 'start'})")
        source, rewrite = (kept.locator(f".tkr-cols > .tkr-pane[data-pane='{i}']") for i in (0, 1))
        expect(source.locator(".tkr-text .tkr-lost")).to_have_text(["1947", "Paris"])  # not in "Parisians", "19470"
        expect(rewrite.locator(".tkr-text .tkr-invented").filter(has_text="Berlin")).to_have_count(1)
        expect(rewrite.locator(".tkr-text .tkr-lost")).to_have_count(0)
        for e in (source.locator(".tkr-text .tkr-lost").first, source.locator("del.tkr-del").first):
            expect(e).to_have_css("background-color", REMOVED)  # a lost word wears the diff's "removed"
        for e in (rewrite.locator(".tkr-text .tkr-invented").first, rewrite.locator("ins.tkr-ins").first):
            expect(e).to_have_css("background-color", ADDED)
        expect(source.locator(".tkr-title .tkr-legend.tkr-lost")).to_have_text("lost by the rewrite")
        expect(rewrite.locator(".tkr-title .tkr-legend.tkr-invented")).to_have_text("invented by the rewrite")
        expect(source.locator(".tkr-text")).to_contain_text('<img src=x onerror="document.title=1">')
        assert kept.locator(".tkr-cols img").count() == 0 and page.title() != "1"

        kept.locator(".tkr-counter").click()
        page.keyboard.press("j")
        moved(page, kept, "2 of 2 filtered (2 total)")
        expect(kept).to_have_attribute("data-id", "s1")
        expect(source.locator(".tkr-text .tkr-lost")).to_have_count(0)
        expect(rewrite.locator(".tkr-text .tkr-invented")).to_have_text(["Madrid"])

        grounded.evaluate("r => r.scrollIntoView({block: 'start'})")
        text = grounded.locator(".tkr-cols > .tkr-pane[data-pane='0'] > .tkr-text")
        expect(text.locator(".tkr-support").first).to_have_css("background-color", SUPPORT)
        expect(grounded.locator(".tkr-legend.tkr-support")).to_have_text("the sentence that supports the answer best")
        shown = in_view(text, "The pump was built in 1947 in Paris by Marge.")
        assert shown == {"inside": True, "scrolled": shown["scrolled"], "at": shown["at"],
                         "text": "The pump was built in 1947 in Paris by Marge."}
        assert shown["scrolled"] > 0, "the sentence lies past the first screen: the pane scrolled to it"

        grounded.locator(".tkr-counter").click()
        page.keyboard.press("j")
        moved(page, grounded, "2 of 2 filtered (2 total)")
        expect(grounded).to_have_attribute("data-id", "q1")
        shown = in_view(text, "The filter lasts 6 months in Oslo.")
        assert shown["inside"] and shown["text"] == "The filter lasts 6 months in Oslo.", shown
        assert shown["scrolled"] > 0
    finally:
        close_lab(proc, pw, browser)
