"""The review widget's CSS (front.py holds its ES module).

The widget is a column as tall as the visible notebook: rows of controls (each one line at 1280 px
with JupyterLab's file browser open: inputs and dropdowns shrink before anything wraps), a
one-line header that cuts long values (a path from its left) with the whole in a tooltip, the
message line, then the sample list (as wide as its ids need, collapsible) beside the text
columns, each scrolling on its own, and the help line. A chosen decision is a filled button with
a check mark; "unreviewed" is never styled as one. A list badge is shown whole (it wraps).

But: one light theme; JupyterLab's dark theme variables are used only for the font and its colour.
"""

CSS = """
.tkr { position: relative; display: flex; flex-direction: column; box-sizing: border-box; height: 640px;
  font-family: var(--jp-ui-font-family, sans-serif); font-size: 13px; line-height: 1.45;
  color: var(--jp-ui-font-color1, #222); border: 1px solid #ccc; border-radius: 4px; padding: 4px 6px;
  outline: none; }
.tkr:focus, .tkr:focus-within { border-color: #1976d2; box-shadow: 0 0 0 1px #1976d2; }
.tkr [hidden] { display: none !important; }
.tkr-bar { display: flex; flex-wrap: wrap; gap: 3px 6px; align-items: center; min-height: 28px; flex: none; }
.tkr-nav, .tkr-marks, .tkr-more, .tkr-selects { display: contents; }
.tkr-button { height: 24px; padding: 0 6px; flex: none; white-space: nowrap; font: inherit; font-size: 12.5px;
  border: 1px solid #b4b4b4; border-radius: 3px; background: #f6f6f6; color: #222; cursor: pointer; }
.tkr-button:hover:not(:disabled) { background: #ececec; }
.tkr-button:disabled { color: #9a9a9a; cursor: default; }
.tkr-key { font-family: var(--jp-code-font-family, monospace); font-size: 11px; color: #555;
  border: 1px solid #bbb; border-radius: 3px; padding: 0 3px; margin-left: 2px; background: #fff; }
.tkr-mark.tkr-on { background: #3949ab; border-color: #283593; color: #fff; font-weight: 600; }
.tkr-mark.tkr-on::before { content: "\\2713  "; }
.tkr-mark.tkr-on[data-mark=good] { background: #2e7d32; border-color: #1b5e20; }
.tkr-mark.tkr-on[data-mark=bad] { background: #c62828; border-color: #8e0000; }
.tkr-mark.tkr-on .tkr-key { color: #222; }
@keyframes tkr-flash { from { box-shadow: 0 0 0 4px #ffca28; } to { box-shadow: 0 0 0 0 transparent; } }
.tkr-flash { animation: tkr-flash 0.7s ease-out; }
.tkr-bulk { margin-left: 6px; }
.tkr-toggles { display: contents; }
.tkr-confirm { background: #fff8e1; border: 1px solid #f0c36d; border-radius: 3px; padding: 2px 6px; }
.tkr-confirm-yes { font-weight: 600; border-color: #b26a00; }
.tkr-counter, .tkr-progress { flex: none; white-space: nowrap; font-variant-numeric: tabular-nums; }
.tkr-progress { color: #555; margin-right: auto; }
.tkr-jump { flex: 0 1 9em; min-width: 6em; width: 9em; }
.tkr-note-input { flex: 1 1 10em; min-width: 6em; max-width: 26em; }
.tkr-filters .tkr-search { flex: 1 1 12em; min-width: 7em; max-width: 22em; }
.tkr-select { flex: 0 1 auto; min-width: 5em; max-width: 12em; }
.tkr-float-search { position: absolute; left: 10px; z-index: 5; width: 24em; max-width: 60%; font: inherit;
  box-shadow: 0 2px 10px rgba(0, 0, 0, 0.35); }
.tkr-line { flex: none; white-space: pre-wrap; overflow-wrap: anywhere; }
.tkr-summary { color: #333; }
.tkr-help { color: #666; font-size: 12px; padding-top: 2px; }
.tkr-head { flex: none; display: flex; gap: 0 12px; white-space: nowrap; overflow: hidden; min-height: 1.45em; }
.tkr-head-part { flex: none; display: flex; gap: 0 4px; overflow: hidden; }
.tkr-head-part.tkr-long { flex: 0 1 auto; min-width: 8em; }
.tkr-head-source.tkr-long { flex-shrink: 1000; }
.tkr-head-part > b { flex: none; }
.tkr-val { min-width: 0; overflow: hidden; text-overflow: ellipsis; }
.tkr-head-source .tkr-val, .tkr-head-id .tkr-val { direction: rtl; text-align: left; }
.tkr-head-source .tkr-val > span, .tkr-head-id .tkr-val > span { direction: ltr; unicode-bidi: embed; }
.tkr-stale { color: #a15c00; font-style: italic; }
.tkr-head .tkr-ok { color: #2e7d32; }
.tkr-head .tkr-failed { color: #c62828; }
.tkr-head .tkr-skipped { color: #777; }
.tkr-msg { flex: none; height: 22px; line-height: 22px; margin: 2px 0; padding: 0 6px; border-radius: 3px;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; font-size: 13px; }
.tkr-said.tkr-done { background: #e8f5e9; color: #1b5e20; animation: tkr-said 0.8s ease-out; }
.tkr-said.tkr-pending { background: #fff8e1; color: #6d4c00; }
.tkr-said.tkr-alert { background: #fdecea; color: #b00020; font-weight: 600; }
@keyframes tkr-said { from { background: #a5d6a7; } }
.tkr-body { flex: 1 1 0; min-height: 180px; display: flex; gap: 8px; }
.tkr-list { flex: none; overflow-y: auto; font-size: 12px; border-right: 1px solid #ddd; padding-right: 2px; }
.tkr-nolist .tkr-list { display: none; }
.tkr-item { cursor: pointer; display: flex; flex-wrap: wrap; gap: 0 4px; padding: 1px 4px;
  border-left: 3px solid transparent; }
.tkr-pos { flex: none; color: #666; }
.tkr-id { flex: 1 1 0; min-width: 3em; white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
  direction: rtl; text-align: left; }
.tkr-id-text { direction: ltr; unicode-bidi: embed; }
.tkr-badge { flex: none; box-sizing: border-box; max-width: 100%; margin-left: auto; white-space: normal;
  overflow-wrap: anywhere;
  font-size: 11px; padding: 0 4px; border-radius: 3px; background: #e8eaf6; color: #283593; }
.tkr-badge[data-mark=good] { background: #e8f5e9; color: #1b5e20; }
.tkr-badge[data-mark=bad] { background: #fdecea; color: #b71c1c; }
.tkr-badge.tkr-stale { background: #fff3e0; }
.tkr-item.tkr-ok { border-left-color: #2e7d32; }
.tkr-item.tkr-failed { border-left-color: #c62828; }
.tkr-item.tkr-skipped { border-left-color: #9e9e9e; color: #777; }
.tkr-item.tkr-cur { background: #e3f0fd; font-weight: 600; }
.tkr-main { flex: 1 1 0; min-width: 0; min-height: 0; display: flex; flex-direction: column; gap: 4px; }
.tkr-cols { flex: 1 1 0; min-height: 120px; display: grid; grid-template-rows: minmax(0, 1fr); gap: 14px; }
.tkr-pane { display: flex; flex-direction: column; min-width: 0; min-height: 0; }
.tkr-cols > .tkr-pane > .tkr-text { flex: 1 1 0; min-height: 0; overflow-y: auto; padding-right: 6px; }
.tkr-with-source .tkr-cols > .tkr-pane:first-child { color: #444; }
.tkr-title { flex: none; font-weight: 600; margin: 2px 0; overflow-wrap: anywhere; }
.tkr-note { flex: none; color: #777; font-style: italic; }
.tkr-text { white-space: pre-wrap; overflow-wrap: anywhere; }
.tkr-par { content-visibility: auto; }  /* its estimated height: drawing.py */
/* marks.py: lost / invented words in the diff's removed / added colours, underlined; the support
   sentence over the diff's colours (a lost word in it keeps its own) */
.tkr-marked { background: none; color: inherit; }
.tkr-del, .tkr-lost { background: #f8c8c8; }
.tkr-ins, .tkr-invented { background: #c8f0c8; text-decoration: none; }
.tkr-support:not(.tkr-lost) { background: #dcebfc; box-shadow: 0 0 0 1px #7fb2ea; }
.tkr-lost, .tkr-invented { font-weight: 600; border-bottom: 2px solid #c62828; }
.tkr-invented { border-bottom-color: #2e7d32; }
.tkr-legend { font-weight: 400; font-size: 11px; padding: 0 4px; border-radius: 3px; border-bottom: 0; }
.tkr-hit { background: #ffe066; color: inherit; padding: 0; }
.tkr-notice { flex: none; padding: 2px 6px; border-radius: 3px; white-space: pre-wrap; }
.tkr-notice.tkr-failed { background: #fdecec; color: #b00020; }
.tkr-notice.tkr-skipped { background: #eeeeee; color: #555; }
.tkr-empty { color: #666; font-style: italic; padding: 12px; }
.tkr-sections { flex: 0 1 auto; max-height: 40%; overflow-y: auto; }
.tkr-sections:empty { display: none; }
.tkr-section > summary { cursor: pointer; color: #555; }
.tkr-grid { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 12px; }
/* a correction: the editor in the pane, a corrected pane marked as yours, a stale one */
.tkr-editor { flex: 1 1 0; min-height: 0; resize: none; font: inherit; white-space: pre-wrap; padding: 4px;
  border: 2px solid #1976d2; border-radius: 3px; }
.tkr-edit-bar { display: flex; gap: 6px; align-items: center; flex: none; margin: 2px 0; }
.tkr-edit-says { color: #0d47a1; font-weight: 600; margin-right: auto; }
.tkr-pane[data-correction=corrected] > .tkr-title { color: #4a148c; font-weight: 600; }
.tkr-pane[data-correction=corrected] > .tkr-text { border-left: 3px solid #7b1fa2; padding-left: 6px;
  background: #faf5fc; }
.tkr-pane[data-correction=stale] > .tkr-note { background: #fff3e0; color: #8a4b00; }
.tkr-model-text { flex: none; max-height: 40%; overflow-y: auto; color: #555; }
.tkr-badge.tkr-tag { background: #ede7f6; color: #4a148c; margin-left: 2px; }
/* the trace, over the sample list and the text panes */
.tkr-overlay { position: absolute; left: 6px; right: 6px; top: 40px; bottom: 28px; z-index: 5; display: flex;
  flex-direction: column; background: #fff; border: 2px solid #1976d2; border-radius: 4px; padding: 4px; }
.tkr-overlay-bar { display: flex; align-items: center; gap: 6px; flex: none; font-weight: 600; }
.tkr-overlay-title { margin-right: auto; }
.tkr-trace-frame { flex: 1 1 0; min-height: 0; width: 100%; border: 0; }
/* candidates (picking.py): the person's pick framed in green, a judge's pick a dashed badge apart */
.tkr-pane[data-picked=person] { outline: 3px solid #2e7d32; outline-offset: 1px; background: #f1f8e9; }
.tkr-pick-badge { background: #2e7d32; color: #fff; border-radius: 3px; padding: 0 5px; }
.tkr-judge-badge { border: 1px dashed #6d4c41; color: #6d4c41; border-radius: 3px; padding: 0 4px; font-weight: 400; }
"""
