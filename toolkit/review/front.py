"""The review widget's front-end: an anywidget ES module, as a Python string (its CSS is style.py;
how a sample's parts are drawn, drawing.py).

A string rather than a package file so it ships inside the wheel with no packaging set-up and
nothing is fetched at run time. The module builds its DOM once (controls never move) and fills it
from the `view` trait, one sample at a time; the messages it sends are listed in widget.py, the
keys it binds come from the view (keys.py's table). Model and file text only ever reaches the page
through `textContent` (search hits are split text nodes inside <mark>), never `innerHTML`. Keys are
handled on the widget's own element, which carries `data-lm-suppress-shortcuts` (JupyterLab's
command registry stops there), so they act only while the widget has focus and notebook shortcuts
keep working everywhere else. After a dropdown, box or button is used, focus goes back to that
element, so arrows and letters never change a filter by accident.

Layout: three rows of controls, a one-line header, the message line (where a decision shows at
once), then the sample list beside the text columns, and the help line; the widget is as tall as
the notebook's visible area, so all of it is in view together. Each text pane scrolls on its own.

But: the widget's height follows JupyterLab's notebook panel (elsewhere the window's height).
"""

from .bulk import BULK
from .drawing import DRAWING
from .editing import EDITOR
from .marks import MARKS
from .picking import PICKS
from .style import CSS
from .tracing import OVERLAY

__all__ = ["CSS", "ESM"]

ESM = DRAWING + MARKS + BULK + EDITOR + OVERLAY + PICKS + r"""
function render({ model, el }) {
  // seq: the last message sent; asked: the last action (not a sync); answered: the last one the
  // kernel answered (its view's seq, or a sync's "synced")
  let seq = 0, aheadSeq = 0, syncing = 0, acted = 0, asked = 0, answered = 0;
  const send = (msg) => {
    seq += 1;
    if (msg.do !== "sync") { acted = performance.now(); asked = seq; }
    model.send({ ...msg, n: seq });
    return seq;
  };
  const root = h("div", "tkr");
  root.tabIndex = 0;
  root.setAttribute("data-lm-suppress-shortcuts", "true");
  const home = () => root.focus({ preventScroll: true });

  const button = (label, key, cls, onclick) => {
    const b = h("button", "tkr-button " + cls, label);
    if (key) b.append(" ", h("kbd", "tkr-key", key));
    b.type = "button";
    b.addEventListener("click", () => { onclick(); home(); });
    return b;
  };
  const counter = h("span", "tkr-counter");
  const progress = h("span", "tkr-progress");
  const jump = h("input", "tkr-jump");
  jump.placeholder = "go to #pos or id";
  const note = h("input", "tkr-note-input");
  note.placeholder = "note (Enter saves)";
  const nav = h("span", "tkr-nav");
  const toggles = h("span", "tkr-toggles");
  const top = h("div", "tkr-bar tkr-top");
  top.append(nav, counter, progress, toggles, jump, note);

  const marks = h("span", "tkr-marks");
  const more = h("span", "tkr-more");
  const bulk = button("label all filtered\u2026", null, "tkr-bulk", () => bulkConfirm.open());
  const acts = h("div", "tkr-bar tkr-acts");
  acts.append(marks, more, bulk);
  const confirmRow = h("div", "tkr-bar tkr-confirm");
  const bulkConfirm = confirming(confirmRow, button, send, () => drawn);  // bulk.py

  const search = h("input", "tkr-search");
  search.placeholder = "search (/)";
  const floatSearch = h("input", "tkr-float-search");
  floatSearch.placeholder = "search (Enter)";
  floatSearch.hidden = true;
  const selects = h("span", "tkr-selects");
  const filters = h("div", "tkr-bar tkr-filters");
  filters.append(search, selects);
  const onEnter = (box, act) => box.addEventListener("keydown", (e) => {
    if (e.key === "Enter") { act(); home(); }
  });
  onEnter(jump, () => { send({ do: "jump", text: jump.value }); jump.value = ""; });
  onEnter(search, () => send({ do: "filter", name: "search", value: search.value }));
  onEnter(floatSearch, () => send({ do: "filter", name: "search", value: floatSearch.value }));
  onEnter(note, () => send({ do: "note", text: note.value }));
  floatSearch.addEventListener("blur", () => { floatSearch.hidden = true; });

  const summary = h("div", "tkr-line tkr-summary");
  const head = h("div", "tkr-head");
  const msg = h("div", "tkr-msg");
  const list = h("div", "tkr-list");
  const notice = h("div", "tkr-notice");
  const cols = h("div", "tkr-cols");
  const sections = h("div", "tkr-sections");
  const main = h("div", "tkr-main");
  main.append(notice, cols, sections);
  const body = h("div", "tkr-body");
  body.append(list, main);
  const help = h("div", "tkr-line tkr-help");
  root.append(top, acts, confirmRow, filters, summary, head, msg, body, help, floatSearch);
  el.append(root);
  const trail = overlay(root, home);  // tracing.py
  const editor = editing({ cols, send, say, home, current: () => drawn });  // editing.py

  // -- what the page does alone (keys.py's "page:" actions)
  let showSource = null;
  let first = 3000;  // characters of each pane drawn at once: a screen and a half (measured on resize)
  const columns = () => [...cols.querySelectorAll(":scope > .tkr-pane > .tkr-text")];
  const PAGE = {
    scroll(a) {
      flush();
      const panes = columns().filter((p) => p.scrollHeight > p.clientHeight);
      if (!panes.length) return;
      const lead = panes.reduce((x, y) => (y.scrollHeight - y.clientHeight > x.scrollHeight - x.clientHeight ? y : x));
      const range = lead.scrollHeight - lead.clientHeight;
      const to = a.to === "top" ? 0 : a.to === "end" ? range
        : lead.scrollTop + (a.pages ? a.pages * lead.clientHeight : a.px);
      lead.scrollTop = Math.max(0, Math.min(range, to));
      const f = range ? lead.scrollTop / range : 0;
      for (const p of panes) if (p !== lead) p.scrollTop = f * (p.scrollHeight - p.clientHeight);
    },
    search() {
      const r = search.getBoundingClientRect(), view = visible();
      if (r.top >= view.top && r.bottom <= view.bottom && r.height) return search.focus({ preventScroll: true });
      // out of sight: a box floated at the top of the widget's visible part, so nothing moves
      floatSearch.value = search.value;
      const below = Math.max(0, view.top - root.getBoundingClientRect().top) + 4;
      floatSearch.style.top = `${Math.min(root.clientHeight - 30, below)}px`;
      floatSearch.hidden = false;
      floatSearch.focus({ preventScroll: true });
    },
    source() {  // back to "as the width allows" when the choice agrees with it
      showSource = sourceShown() === wide ? !wide : null;
      drawCols(drawn.sample, drawn.search || "", true);
    },
    list() { root.classList.toggle("tkr-nolist"); },
    escape() { if (!trail.close() && bulkConfirm.shown()) bulkConfirm.close(); },
    edit(a) { flush(); editor.start(a); },
  };
  // The part of the page the reader sees: the viewport within the notebook's scrolling panel.
  function visible() {
    let t = 0, b = window.innerHeight;
    for (let e = root.parentElement; e; e = e.parentElement) {
      const o = getComputedStyle(e).overflowY;
      if ((o === "auto" || o === "scroll") && e.scrollHeight > e.clientHeight + 1) {
        const r = e.getBoundingClientRect();
        t = Math.max(t, r.top); b = Math.min(b, r.bottom);
      }
    }
    return { top: t, bottom: b };
  }
  let wide = false;  // room for three columns of about 65 characters (measured on resize, never while drawing)
  const sourceShown = () => (showSource === null ? wide : showSource);

  // -- the widget is as tall as the notebook's visible area (the help line stays in view)
  let scroller = null;
  const fit = () => {
    const height = scroller ? scroller.clientHeight : window.innerHeight;
    root.style.height = `${Math.max(380, height - 20)}px`;
  };
  const resized = new ResizeObserver(() => {
    attach();
    fit();
    // about 7 px a character and 19 px a line, per column: a screen and a half of text
    first = Math.max(1500, Math.round(1.5 * (cols.clientWidth / 2 / 7) * (cols.clientHeight / 19)));
    if ((cols.clientWidth >= 1280) === wide) return;
    wide = !wide;
    if (showSource === null && drawn.sample) drawCols(drawn.sample, drawn.search || "", true);
  });
  resized.observe(root);  // first called once the widget is on the page
  resized.observe(cols);  // the list shown or hidden
  function attach() {
    if (scroller || !root.isConnected) return;
    scroller = root.closest(".jp-WindowedPanel-outer, .jp-Notebook, .jp-LinkedOutputView") || null;
    if (scroller) resized.observe(scroller);
  }

  const buttons = new Map(), markButtons = new Map(), selectBoxes = new Map();
  const put = (e, text) => { if (e.textContent !== text) e.textContent = text; };  // no mutation when unchanged
  let shownId = null, drawnState = null, drawn = {};

  function draw(v, pending) {
    const places = columns().map((p) => ({ top: p.scrollTop, len: +p.dataset.len }));  // read before any write
    drawn = v;
    if (pending) root.dataset.pending = "1";
    else delete root.dataset.pending;
    const s = v.sample;
    put(counter, v.counter || "");
    put(progress, v.progress || "");
    for (const [action, text, key] of v.buttons || []) {
      if (buttons.has(action)) continue;
      const cls = action.startsWith("page:") ? "tkr-toggle tkr-toggle-" + action.slice(5) : "tkr-" + action;
      const b = button(text, key, cls, () => act((drawn.keys || {})[key] || {}));
      buttons.set(action, b);
      if (action === "prev") nav.prepend(b);
      else (action === "next" ? nav : action.startsWith("page:") ? toggles : more).append(b);
    }
    if (buttons.has("prev")) buttons.get("prev").disabled = !s || v.pos <= 0;
    if (buttons.has("next")) buttons.get("next").disabled = !s || v.pos >= v.n - 1;
    for (const [value, key] of v.marks || []) {
      if (markButtons.has(value)) continue;
      const b = button(value, key, "tkr-mark", () => { flash(value); send({ do: "mark", value, advance: false }); });
      b.dataset.mark = value;
      markButtons.set(value, b);
      marks.append(b);
    }
    const undecided = (v.marks || []).length ? v.marks[v.marks.length - 1][0] : null;
    for (const [value, b] of markButtons) {
      const on = !!s && s.mark === value && value !== undecided;  // "unreviewed" is no decision
      b.disabled = !s;
      b.classList.toggle("tkr-on", on);
      b.setAttribute("aria-pressed", on ? "true" : "false");
    }
    bulk.hidden = !(v.marks || []).length || v.bulk === undefined || v.bulk === null;
    for (const [name, options, value] of v.filters || []) {
      let box = selectBoxes.get(name);
      if (!box) {
        box = h("select", "tkr-select");
        box.title = name;
        box.dataset.name = name;
        box.addEventListener("change", () => { send({ do: "filter", name, value: box.value }); box.blur(); home(); });
        selectBoxes.set(name, box);
        selects.append(box);
      }
      const known = JSON.stringify(options);
      if (box.dataset.options !== known) {
        box.replaceChildren(...options.map(([val, label]) => Object.assign(h("option", null, label), { value: val })));
        box.dataset.options = known;
      }
      box.value = value;
      const title = `${name}: ${box.selectedOptions[0]?.textContent ?? value}`;
      if (box.title !== title) box.title = title;
    }
    if (document.activeElement !== search) search.value = v.search || "";
    note.hidden = v.note === undefined || v.note === null;
    note.disabled = !s;
    if (document.activeElement !== note) note.value = (s && s.note) || "";
    put(summary, v.summary || "");
    summary.hidden = !v.summary;
    say(v.message || "", v.alert ? "alert" : "done");
    put(help, v.help || "");
    root.classList.toggle("tkr-blind", !!v.blind);
    if (v.confirm) bulkConfirm.show(v.confirm);
    list.style.width = `${Math.min(16, Math.max(9, (v.list_width || 0) * 0.66 + 1.5))}em`;  // bold fits too
    fillList(list, v, go);

    const query = v.search || "";
    // the same sample (the reply to a prefetched draw): redraw only if it changed (compared only
    // then, never on the way to a new sample)
    const state = [s, query, v.empty];
    const same = JSON.stringify(state) === JSON.stringify(drawnState);
    if (s && s.id === shownId && (editor.editing() || same)) return;  // an open editor is kept
    drawnState = state;
    root.dataset.id = s ? s.id : "";
    fillHead(head, s, v);
    drawCols(s, query, s && s.id === shownId, places);
    const toggled = (name, open) => send({ do: "open", what: name, open });
    sections.replaceChildren(...(s ? s.sections || [] : []).map((sec) => section(sec, query, toggled)));
    notice.hidden = !(s && s.notice);
    if (s && s.notice) { notice.className = `tkr-notice tkr-${s.notice[0]}`; notice.textContent = s.notice[1]; }
    shownId = s ? s.id : null;
  }

  const go = (pos) => { send({ do: "go", pos }); home(); };  // a list entry clicked

  // The text columns: the source (comparison; when shown), then the two panes. A new sample keeps
  // each pane's place when its text is about as long as the last one's, else starts at the top.
  // Each pane draws about a screen at once and the rest after the frame is painted (or before a
  // scrolling key needs it).
  let rest = [];
  const flush = () => { const now = rest; rest = []; for (const add of now) add(); };
  function drawCols(s, query, same, before = columns().map((p) => ({ top: p.scrollTop, len: +p.dataset.len }))) {
    rest = [];
    cols.replaceChildren();
    if (!s) { cols.append(h("div", "tkr-empty", drawn.empty || "No sample.")); return; }
    const shown = [...(s.source && sourceShown() ? [s.source] : []), ...s.panes];
    layout(cols, s, shown.length);  // picking.py: candidates past three wrap
    const panes = shown.map((p) => marked(pane(p, query, first), p));
    cols.append(...panes);
    root.classList.toggle("tkr-with-source", shown.length > s.panes.length);
    const offset = before.length - shown.length;  // the source column came or went
    panes.forEach((box, i) => {
      box.dataset.pane = i - (shown.length - s.panes.length);  // the source column is -1
      const text = box.querySelector(".tkr-text"), last = before[i + offset] ?? before[i];
      const similar = last && Math.abs(+text.dataset.len - last.len) <= 0.25 * Math.max(last.len, 1);
      if (last && last.top && (same || similar)) {
        while (box.rest) box.rest = box.rest();
        text.scrollTop = last.top;
      } else if (box.rest) {
        rest.push(() => { while (box.rest) box.rest = box.rest(); });
      }
    });
    if (!same) panes.forEach((box, i) => shown[i].reveal && reveal(box));  // marks.py: the support sentence
    editor.decorate(s);
    if (rest.length) {
      const mine = rest;
      requestAnimationFrame(() => setTimeout(() => { if (rest === mine) flush(); }, 0));
    }
  }

  // Feedback where the eyes are: the message line above the text, a decision shown at once.
  function say(text, kind) {
    const cls = "tkr-msg" + (text ? ` tkr-said tkr-${kind}` : "");
    if (msg.textContent === text && msg.className === cls) return;  // the same line stays (no new flash)
    msg.textContent = text;
    msg.className = cls;
    msg.title = text;
  }
  function flash(value) {
    const b = markButtons.get(value);
    if (!b) return;
    b.classList.remove("tkr-flash");
    void b.offsetWidth;
    b.classList.add("tkr-flash");
  }

  const update = () => {
    const v = model.get("view") || {};
    answered = Math.max(answered, v.seq ?? 0);
    if ((v.seq ?? 0) < aheadSeq && root.dataset.pending) return;  // older than what the page drew ahead
    draw(v, false);
  };

  // j or a label-and-advance key: the sample the kernel prefetched (`ahead`) is drawn at once;
  // it records nothing. A second press before the reply finds no `ahead` and only sends; so does a
  // press while any action is unanswered (k, a jump, a filter: the prefetch is where the kernel was).
  function act(a) {
    if (a.page) return PAGE[a.page](a);
    const v = drawn, current = answered >= asked;
    if (a.do === "mark") {
      if (!v.sample) return;
      say(`${a.value} \u2192 ${v.sample.id}`, "pending");
    }
    const n = send({ do: a.do, ...(a.value !== undefined ? { value: a.value, advance: a.advance } : {}) });
    if (a.ahead && v.ahead && current) {
      aheadSeq = n;
      const said = msg.textContent;
      draw({ ...v, pos: v.ahead.pos, counter: v.ahead.counter, sample: v.ahead.sample, ahead: null,
             message: "" }, true);
      if (a.do === "mark") say(said, "pending");
    }
  }

  root.addEventListener("keydown", (e) => {
    const tag = e.target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA") {
      if (e.key === "Escape") { e.preventDefault(); floatSearch.hidden = true; home(); }
      e.stopPropagation();
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    // A closed dropdown with focus would turn arrows and letters into a new filter value: they
    // act on the widget instead (Alt+Down, Enter or Space still open it).
    const select = tag === "SELECT";
    if (select && (e.key === " " || e.key === "Enter" || e.key === "Tab")) { e.stopPropagation(); return; }
    if (select || tag === "BUTTON" || tag === "SUMMARY") home();
    const keys = drawn.keys || {};
    const a = (e.shiftKey && keys["Shift+" + (/^Digit\d$/.test(e.code) ? e.code.slice(5) : e.key)]) || keys[e.key];
    if (!a) { if (select) { e.preventDefault(); e.stopPropagation(); } return; }
    e.preventDefault();
    e.stopPropagation();
    act(a);
  });

  // Decisions made elsewhere (another widget, kernel or reviewer on the folder) land within a
  // second or so: the kernel is asked, one question at a time, and redraws only when some did.
  // Not while the reviewer is pressing keys: each of those brings them anyway.
  const poll = setInterval(() => {
    if (document.hidden || !root.isConnected || root.dataset.pending || editor.editing()
        || performance.now() - acted < 1500) return;
    if (syncing && performance.now() - syncing < 15000) return;
    syncing = performance.now();
    send({ do: "sync" });
  }, 1000);
  const synced = (m) => {
    if (m && "synced" in m) { syncing = 0; answered = Math.max(answered, m.synced); }
    if (m && m.trace) trail.show(m.trace);
  };
  model.on("msg:custom", synced);
  model.on("change:view", update);
  update();
  return () => {
    clearInterval(poll);
    resized.disconnect();
    model.off("change:view", update);
    model.off("msg:custom", synced);
  };
}

export default { render };
"""
