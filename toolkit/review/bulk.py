"""The confirm row of "label all filtered…": part of the ES module front.py builds, as a Python
string like drawing.py.

Labelling every filtered sample at once is one undo away, but it can overwrite many decisions, so
it takes two steps: choosing a value asks the kernel what it would change ({"do": "preview"}, the
viewer's `_preview`); the row then says so, and its button labels them ({"do": "bulk"}). Esc or
cancel closes the row.
"""

BULK = r"""
// The confirm row: open() offers the values, show(c) says what labelling all as c.value would
// change (the kernel's view["confirm"]), close() hides it.
function confirming(row, button, send, current) {
  row.hidden = true;
  const close = () => { row.hidden = true; row.replaceChildren(); };
  const put = (...parts) => {
    row.replaceChildren(...parts, button("cancel", "Esc", "tkr-cancel", close));
    row.hidden = false;
  };
  function open() {
    const v = current();
    const choices = (v.marks || []).map(([value]) => {
      const b = button(value, null, "tkr-confirm-value", () => send({ do: "preview", value }));
      b.dataset.mark = value;
      return b;
    });
    put(h("span", "tkr-confirm-text", `Label all ${(v.bulk ?? v.n ?? 0).toLocaleString("en-US")} filtered samples as:`),
        ...choices);
  }
  function show(c) {
    const yes = button(`label ${c.n.toLocaleString("en-US")} samples ${c.value}`, null, "tkr-confirm-yes",
                       () => { send({ do: "bulk", value: c.value }); close(); });
    yes.dataset.mark = c.value;
    put(h("span", "tkr-confirm-text", c.text), yes);
  }
  return { open, show, close, shown: () => !row.hidden };
}
"""
