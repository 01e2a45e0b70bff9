"""The page's static parts: title, header, CSS, the browser-side scripts and the API help."""

from __future__ import annotations

TITLE = "Lego-Edit — instruction-based image editing with typed bricks"

TAGLINE = (
    "## Lego-Edit demo\n"
    "The **Builder** reads your instruction and writes a **workflow** of bricks; the **Executor** runs it step by "
    "step. Paint over the input to limit the edit to that area; give **feedback** to re-plan."
)

CSS = """
#lego-header { margin: 0 0 -4px 0; }
#lego-header h2 { margin: 0 0 2px 0; font-size: 1.3em; }
#lego-header p { margin: 0; color: var(--body-text-color-subdued); font-size: 0.9em; line-height: 1.35; }
#lego-status { min-height: 2.2em; }
#lego-status p { margin: 0.15em 0; }
#lego-status p, #lego-status li { overflow-wrap: anywhere; }
#lego-buttons button { min-height: 42px; max-height: 48px; }
#lego-replan-btn { min-height: 42px; max-height: 48px; align-self: flex-end; margin-bottom: 10px; }
#lego-steps .grid-wrap, #lego-history .grid-wrap, #lego-think-strip .grid-wrap {
    height: auto !important; min-height: 0 !important; max-height: none !important; }
#lego-graph img { background: #ffffff; border-radius: 6px; }
.lego-examples-head p { margin: 0 0 2px 0; font-size: 0.9em; }
#lego-examples .thumbnail-item { aspect-ratio: 16 / 11 !important; }
#lego-examples .grid-container { gap: 6px !important; }
#lego-examples .caption-label {
    white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
    max-width: 96% !important; font-size: 0.72em; line-height: 1.2; opacity: 0.95 !important;
}
#lego-think-strip .grid-container { grid-template-columns: repeat(5, minmax(90px, 1fr)) !important; }
#lego-think-strip .caption-label { white-space: normal !important; font-size: 0.8em; }
#lego-history .grid-container { grid-template-columns: repeat(6, minmax(90px, 1fr)) !important; }
#lego-steps .grid-container { grid-template-columns: repeat(4, minmax(120px, 1fr)) !important; }
#lego-steps .caption-label, #lego-history .caption-label {
    white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
    opacity: 0.95 !important; font-size: 0.8em; line-height: 1.25;
}
@media (max-width: 640px) {
    #lego-examples-offline .grid-container { grid-template-columns: repeat(3, minmax(0, 1fr)) !important; }
    #lego-examples-model .grid-container { grid-template-columns: repeat(2, minmax(0, 1fr)) !important; }
    #lego-examples .grid-wrap, #lego-examples-offline, #lego-examples-model {
        height: auto !important; max-height: none !important; }
    #lego-steps .grid-container, #lego-think-strip .grid-container, #lego-history .grid-container {
        grid-template-columns: repeat(2, minmax(0, 1fr)) !important; }
}
"""

# -- the editor's value settles before a run reads it (issue 14) ---------------------------------
# Gradio reads an input's value when the event fires; the image editor needs a moment (and a
# server round trip for an example) to hold a newly picked image, and a run read in that moment
# edits the previous image, or none. The page counts what is still arriving: a file chosen,
# dropped or pasted into the editor (until the editor reports `upload`), and a server event that
# sets the editor's value (examples, "use as input", undo). A run first waits, in the browser,
# until nothing is arriving (at most SETTLE_MAX_MS), then reads the editor.
SETTLE_MAX_MS = 20_000

INSTALL_JS = """
() => {
    const state = window.legoInput = window.legoInput || {uploading: 0, setting: 0};
    const inEditor = (e) => e.target && e.target.closest && e.target.closest('#lego-input');
    const arriving = () => {
        state.uploading = Date.now();
        const clear = document.querySelector('#lego-new-image');  // results of the old image leave
        if (clear) clear.click();
    };
    document.addEventListener('change', (e) => {
        if (inEditor(e) && e.target.type === 'file' && e.target.files && e.target.files.length) arriving();
    }, true);
    document.addEventListener('drop', (e) => { if (inEditor(e)) arriving(); }, true);
    document.addEventListener('paste', (e) => { if (inEditor(e)) arriving(); }, true);
}
"""

SETTLE_JS = """
async () => {
    const state = window.legoInput || {uploading: 0, setting: 0};
    const t0 = Date.now();
    while ((state.uploading || state.setting > 0) && Date.now() - t0 < SETTLE_MAX_MS) {
        await new Promise((r) => setTimeout(r, 40));
    }
    state.uploading = 0;
    state.setting = 0;
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    return [];
}
""".replace("SETTLE_MAX_MS", str(SETTLE_MAX_MS))

# the editor's value, copied into a plain file list ([background, *layers]) that the run reads:
# Gradio's page re-reads (exports and uploads) every input of a finished queued event each time
# a later event streams an update; for the editor that would be three uploads per update
COPY_EDITOR_JS = """
(value) => {
    const background = value && (value.background || value.composite);
    return [background ? [background, ...(value.layers || []).filter(Boolean)] : null];
}
"""

# an editor upload finished (a file, or a value the server set) / a server event setting it ended
RELEASE_JS = """
() => {
    const state = window.legoInput;
    if (state) { state.uploading = 0; state.setting = Math.max(0, state.setting - 1); }
    return [];
}
"""

# before a server event that sets the editor's value: runs wait until it has ended
HOLD_JS = """
(...args) => {
    const state = window.legoInput = window.legoInput || {uploading: 0, setting: 0};
    state.setting += 1;
    return args;
}
"""


API_HELP = """
### Use it from code

```python
from gradio_client import Client, handle_file
client = Client("http://127.0.0.1:7860/")
image, workflow_json, reasoning = client.predict(
    handle_file("photo.png"), "remove the red circle", api_name="/edit")
workflow_json, reasoning, declined = client.predict(
    handle_file("photo.png"), "make the blue square green", None, "don't use RES", api_name="/plan")
image, trace_json = client.predict(handle_file("photo.png"), workflow_json, api_name="/run_workflow")
image, turns_json = client.predict(handle_file("photo.png"), "remove the red circle", turns=3, api_name="/think_edit")
```

| endpoint | arguments | returns |
|---|---|---|
| `/edit` | image, instruction, mask = None, feedback = "", think_turns = 1 | result image, workflow JSON, reasoning (of the best turn when think_turns > 1) |
| `/plan` | image, instruction, mask = None, feedback = "" | workflow JSON (or ""), reasoning, declined reason (or "") |
| `/run_workflow` | image, workflow JSON, mask = None | result image, trace JSON |
| `/think_edit` | image, instruction, mask = None, feedback = "", turns = 3 | best turn's image, turns JSON (per turn: plan, cached steps, critique scores and checks) |

Images and masks are read exactly as the CLI reads them (size limits before decoding; GIF,
16-bit PNG and alpha handled the same). Masks are images: white (or opaque) = the area to edit;
an all-black mask counts as no mask. Feedback is one item per line. All edits share one queue
(`--concurrency`). Start the app with `--mcp` (or `GRADIO_MCP_SERVER=True`) to serve the same
functions as MCP tools at `/gradio_api/mcp/`.
"""
