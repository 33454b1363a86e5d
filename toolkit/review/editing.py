"""Correct an output in place: the edit key (e) of the viewer and the comparison.

The page opens the shown output in a text box inside its pane (keys typed there are text, never
review keys; Ctrl+Enter saves, Esc cancels) and sends {"do": "correct", "pane", "output", "text"}:
the pane it edited and the hash of the output it started from. The widget stores the text with
`Store.correct`, tied to that output (decisions/corrections.py holds the rules), so the model's
output, the cache and the frame stay as they are. From then on the pane shows your text, marked
as yours, with the model's text a click away; undo (z) reverts it; a correction made on an output
that changed since is shown as stale and not applied; other viewers on the folder see it through
the store like a label.

Each widget says which of its panes are outputs (`_outputs(k)`): the viewer's right pane, both
panes of the comparison.

But: one correction per sample and column: in a comparison whose two runs gave different outputs,
correcting one side's output leaves the other side's as the model wrote it.
"""

from ..decisions.corrections import check
from ..outputs import cell_text, output_hash
from .names import named

STALE = ("your correction was made on an earlier output and is not applied (the output changed since): "
         "e corrects this one")


class Editing:
    """The correct action and how corrected panes are drawn; mixed into Viewer and Comparison."""

    def _outputs(self, k):
        """[{"pane", "value", "shown", "column"}, ...]: the output panes of item `k` (pane:
        its index in the sample's panes; value: the frame's cell; shown: the text the pane shows)."""
        raise NotImplementedError

    def _edits(self, k, sample):
        """Put the corrections stored for item `k` on its drawn `sample`: a corrected pane shows
        your text (the model's in `edits`), a stale one says so; `sample["edits"]` is what the
        page's editor needs (none without a run folder)."""
        if self._store is None:
            return
        shown = self._outputs(k)
        hashes = [output_hash(o["value"]) for o in shown]
        sample["edits"] = []
        for o, h in zip(shown, hashes):
            saved = self._store.correction_of(str(self._ids[k]), o["column"])
            pane, state, text = sample["panes"][o["pane"]], None, o["shown"]
            if saved and saved["output"] == h:
                state, text = "corrected", saved["text"]
                pane["segments"], pane["title"] = [["=", text]], f"{pane['title']} \u00B7 your correction"
                pane["note"] = "your text in place of the model's (z undoes it; the model's output below)"
                pane.pop("legend", None)  # marks.py's marks were on the model's text
            elif saved and saved["output"] not in hashes:
                state = "stale"
                pane["note"] = " \u00B7 ".join(filter(None, [pane.get("note"), STALE]))
            sample["edits"].append({"pane": o["pane"], "output": h, "text": text, "model": o["shown"],
                                    "state": state, "column": o["column"]})

    def _do_correct(self, content):
        """Store the page's edited text for the output it edited (refused when that output is not
        the one shown now: the frame or the sample changed while you typed)."""
        if self._store is None:
            raise ValueError("corrections are off: pass folder=<run folder>")
        if not len(self._rows):
            raise IndexError("no sample is shown (the filters match nothing)")
        k = self._rows[self._pos]
        sid = str(self._ids[k])
        found = [o for o in self._outputs(k) if o["pane"] == content.get("pane")]
        if not found or output_hash(found[0]["value"]) != content.get("output"):
            raise ValueError(f"not saved: the output of {named(sid)} you edited is not the one shown now; "
                             "press e to correct the one shown")
        o, text = found[0], content.get("text")
        check(o["value"], text, o["column"])
        before = self._store.correction_of(sid, o["column"])
        self._store.correct(sid, o["column"], content["output"], text)
        if cell_text(o["value"]) == text or text is None:
            message = (f"withdrew your correction of {o['column']} for {named(sid)}" if before
                       else f"no change to {o['column']} for {named(sid)}: nothing saved")
        else:
            message = f"saved your correction of {o['column']} for {named(sid)} (z undoes it)"
        self.go(self._pos, message)

    def _undid(self, undone):
        """After undo reverted a correction: show that sample, say what shows now."""
        k = self._where.get_indexer([undone["sample"]])[0]
        self._catch_up()
        now = "your earlier correction" if self._store.correction_of(undone["sample"], undone["b"]) \
            else "the model's output"
        self._show_item(k, f"undid your correction of {undone['b']} for {named(undone['sample'])}: {now} shows again")


# The editor, in the ES module (front.py): a text box in the output pane. Keys typed in it stay in
# it (stopPropagation: neither the review keys nor JupyterLab's shortcuts see them).
EDITOR = r"""
function editing({ cols, send, say, home, current }) {
  let open = null;
  const paneOf = (i) => cols.querySelector(`:scope > .tkr-pane[data-pane="${i}"]`);
  function close(keepFocus) {
    if (!open) return;
    open.box.classList.remove("tkr-editing");
    open.bar.remove(); open.area.remove();
    open.text.hidden = false;
    open = null;
    if (!keepFocus) home();
  }
  function start(a) {
    const s = current().sample;
    const edits = (s && s.edits) || [];
    if (!edits.length) return say(s ? "corrections are off: pass folder=<run folder>" : "no sample is shown", "alert");
    const e = a.side < 0 ? edits[edits.length - 1] : edits[Math.min(a.side, edits.length - 1)];
    const box = paneOf(e.pane);
    if (!box) return;
    close(true);
    const text = box.querySelector(".tkr-text");
    const area = h("textarea", "tkr-editor");
    area.value = e.text;
    area.spellcheck = false;
    const save = () => {
      say(`saving your correction of ${e.column} for ${s.id}\u2026`, "pending");
      send({ do: "correct", pane: e.pane, output: e.output, text: area.value });
      close();
    };
    const bar = h("div", "tkr-edit-bar");
    const b = (label, key, cls, fn) => {
      const x = h("button", "tkr-button " + cls, label);
      x.type = "button";
      x.append(" ", h("kbd", "tkr-key", key));
      x.addEventListener("click", fn);
      return x;
    };
    bar.append(h("span", "tkr-edit-says", `editing ${e.column} of ${s.id}`),
               b("save", "Ctrl+Enter", "tkr-edit-save", save), b("cancel", "Esc", "tkr-edit-cancel", () => {
                 close(); say("edit cancelled: nothing saved", "done"); }));
    area.addEventListener("keydown", (ev) => {
      ev.stopPropagation();
      if (ev.key === "Escape") { ev.preventDefault(); close(); say("edit cancelled: nothing saved", "done"); }
      else if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); save(); }
    });
    text.hidden = true;
    box.classList.add("tkr-editing");
    box.append(bar, area);
    open = { box, bar, area, text };
    area.focus({ preventScroll: true });
    say(`editing ${e.column} of ${s.id}: Ctrl+Enter saves, Esc cancels`, "pending");
  }
  // A corrected pane: marked as yours, the model's text in a closed section below it.
  function decorate(s) {
    for (const e of (s && s.edits) || []) {
      const box = paneOf(e.pane);
      if (!box) continue;
      box.dataset.correction = e.state || "";
      if (e.state !== "corrected") continue;
      const d = h("details", "tkr-model-text");
      d.append(h("summary", null, "the model's output"), h("div", "tkr-text", e.model));
      box.append(d);
    }
  }
  return { start, decorate, editing: () => !!(open && open.area.isConnected) };
}
"""
