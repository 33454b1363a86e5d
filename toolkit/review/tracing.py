"""Trace the shown sample back through its steps: the trace key (r) of the viewer and the comparison.

The widget sends the page tk.trace's HTML for the shown sample (toolkit/trace.py: the messages as
the cache holds them, each attempt, what the parser said; every model text escaped there) as a
custom message, {"trace": {"id", "html"}}, not in the view: it is shown once, over the text
panes, until Esc. The page puts it in a sandboxed iframe (no scripts run in it, whatever it holds),
so even a text that escaped the escaping could not act on the notebook.

But: the comparison traces run B's row (the newer run); a blind comparison refuses, since the
prompt versions in a trace tell which run is which.
"""

from ..trace import trace
from .names import named


class Tracing:
    """The trace action; mixed into Viewer and Comparison, which say which frame holds the shown
    sample (`_traced(k)`: (frame, what the message calls it))."""

    def _traced(self, k):
        raise NotImplementedError

    def _do_trace(self, content):
        if not len(self._rows):
            raise IndexError("no sample is shown (the filters match nothing)")
        k = self._rows[self._pos]
        df, which = self._traced(k)
        sid = str(self._ids[k])
        found = trace(df, sid, id=self._id, folder=self._folder)
        self.send({"trace": {"id": sid, "html": found._repr_html_(), "steps": len(found)}})
        self.go(self._pos, f"trace of {named(sid)}{which}: {len(found)} step{'s' * (len(found) != 1)} (Esc closes)")


# The overlay, in the ES module (front.py): over the sample list and text panes, closed by Esc.
OVERLAY = r"""
function overlay(root, home) {
  const box = h("div", "tkr-overlay");
  box.hidden = true;
  const title = h("span", "tkr-overlay-title");
  const shut = h("button", "tkr-button tkr-overlay-close", "close");
  shut.type = "button";
  shut.append(" ", h("kbd", "tkr-key", "Esc"));
  const bar = h("div", "tkr-overlay-bar");
  bar.append(title, shut);
  const frame = h("iframe", "tkr-trace-frame");
  frame.setAttribute("sandbox", "allow-same-origin");  // no scripts; the page may read it (tests)
  box.append(bar, frame);
  root.append(box);
  const close = () => { if (box.hidden) return false; box.hidden = true; frame.srcdoc = ""; home(); return true; };
  shut.addEventListener("click", close);
  function show(t) {
    title.textContent = `trace of ${t.id}`;
    box.dataset.id = t.id;
    frame.srcdoc = "<!doctype html><meta charset=utf-8><body style='font:13px sans-serif;margin:6px'>"
      + t.html + "</body>";
    box.hidden = false;
    home();
  }
  return { show, close };
}
"""
