// The workflow canvas (lego_demo/ui/canvas.py): draws the view the server computed
// (canvas_view.py: nodes, typed ports, edges, layout, run state) and sends every change back
// as trigger('edit', {op: ...}); trigger('submit') runs the workflow. Nothing is decided here
// that the server does not check again: which wires may connect comes with each port
// ("sources"), positions come with each node. Runs inside gr.HTML's js_on_load with
// `element`, `props`, `trigger` and `watch`.
(function () {
  const root = element.querySelector(".lc-root");
  root.innerHTML =
    '<div class="lc-bar">' +
    '<select class="lc-add-brick" aria-label="brick to add"></select>' +
    '<button type="button" class="lc-add">+ Add brick</button>' +
    '<button type="button" class="lc-run">▶ Run</button>' +
    '<span class="lc-spacer"></span>' +
    '<button type="button" class="lc-zoom-out" aria-label="zoom out">−</button>' +
    '<button type="button" class="lc-zoom-in" aria-label="zoom in">+</button>' +
    '<button type="button" class="lc-fit">Fit</button>' +
    "</div>" +
    '<div class="lc-main">' +
    '<div class="lc-viewport" tabindex="0">' +
    '<div class="lc-world"><svg class="lc-edges" xmlns="http://www.w3.org/2000/svg"></svg><div class="lc-nodes"></div></div>' +
    '<div class="lc-message"></div><div class="lc-toast" role="status"></div>' +
    '<div class="lc-hint">drag the background to pan · pinch, Ctrl+wheel or −/+ to zoom · drag from an output port (right) to an input port (left) to wire</div>' +
    "</div>" +
    '<aside class="lc-panel"></aside>' +
    "</div>" +
    '<div class="lc-legend"></div>';
  const $ = (sel) => root.querySelector(sel);
  const viewport = $(".lc-viewport"), world = $(".lc-world"), svg = $(".lc-edges"), layer = $(".lc-nodes");
  const panel = $(".lc-panel"), message = $(".lc-message"), toastBox = $(".lc-toast");
  const NS = "http://www.w3.org/2000/svg";

  let view = null, byId = {}, selected = null, shownIds = "";
  let k = 1, tx = 0, ty = 0;
  let wire = null; // {ref, type, x, y, moved, armed}
  const pointers = new Map();
  let drag = null; // {kind: "pan" | "node", x, y, tx, ty, moved, id}
  let pinch = null;

  const esc = (s) => String(s == null ? "" : s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  // edits go one at a time: each is applied to the JSON the previous one left (the server
  // echoes the edit's number as view.ack); a lost answer frees the queue after 20 s
  const queue = [];
  let pending = null, seq = 0;
  function pump() {
    if (pending || !queue.length) return;
    pending = queue.shift();
    pending.seq = ++seq;
    root.classList.add("lc-busy");
    trigger("edit", pending);
    clearTimeout(pump.timer);
    pump.timer = setTimeout(() => { pending = null; root.classList.remove("lc-busy"); pump(); }, 20000);
  }
  function send(op) { queue.push(op); pump(); }

  function toast(text, bad) {
    toastBox.textContent = text;
    toastBox.classList.toggle("lc-bad", !!bad);
    toastBox.classList.add("lc-show");
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => toastBox.classList.remove("lc-show"), 5000);
  }

  // -- pan and zoom -------------------------------------------------------------------------
  function apply() { world.style.transform = "translate(" + tx + "px," + ty + "px) scale(" + k + ")"; }
  function zoomAt(factor, cx, cy) {
    const nk = Math.min(2.5, Math.max(0.15, k * factor));
    tx = cx - (cx - tx) * (nk / k); ty = cy - (cy - ty) * (nk / k); k = nk; apply();
  }
  function fit(readable) {
    if (!view || !view.width) return;
    const w = viewport.clientWidth, h = viewport.clientHeight;
    let nk = Math.min(w / view.width, h / view.height, 1);
    if (readable) nk = Math.max(nk, 0.55); // first look: readable, pan for the rest
    k = nk; tx = Math.max(0, (w - view.width * k) / 2); ty = Math.max(0, (h - view.height * k) / 2); apply();
  }
  function toWorld(e) {
    const r = viewport.getBoundingClientRect();
    return { x: (e.clientX - r.left - tx) / k, y: (e.clientY - r.top - ty) / k };
  }
  function reveal(id) { // pan as little as needed to show a node (a margin of 12 px)
    const n = byId[id]; if (!n) return;
    const w = viewport.clientWidth, h = viewport.clientHeight, m = 12;
    const left = n.x * k + tx, top = n.y * k + ty, right = left + n.w * k, bottom = top + n.h * k;
    if (right > w - m) tx -= Math.min(right - (w - m), left - m);
    else if (left < m) tx += m - left;
    if (bottom > h - m) ty -= Math.min(bottom - (h - m), top - m);
    else if (top < m) ty += m - top;
    apply();
  }

  // -- drawing ------------------------------------------------------------------------------
  function portHtml(p, side, node) {
    const wired = side === "in" ? !!p.ref : view.edges.some((e) => e.from === node.id && e.out === p.name);
    const missing = side === "in" && !p.ref && p.literal == null && !p.optional && !p.add && node.kind !== "result";
    const cls = "lc-port lc-" + side + (wired ? " lc-wired" : "") + (missing ? " lc-missing" : "") + (p.add ? " lc-add-slot" : "");
    const colour = view.colours.types[p.type] || "#64748b";
    const data = side === "out"
      ? ' data-ref="' + esc(p.ref) + '"'
      : ' data-node="' + node.id + '" data-input="' + esc(p.name) + '"';
    return '<span class="' + cls + '" data-type="' + esc(p.type) + '"' + data + ' title="' + esc(p.name + " · " + p.type) +
      '" style="top:' + (p.y - 7) + "px;--lc-type:" + colour + '"></span>';
  }
  function inLabel(p) {
    if (p.add) return '<span class="lc-dim">+ add</span>';
    if (p.ref) return esc(p.name) + ' <span class="lc-dim">← ' + esc(p.ref) + "</span>";
    if (p.literal != null) return esc(p.name) + ' = <b class="lc-lit">' + esc(p.literal) + "</b>";
    return esc(p.name) + (p.optional ? ' <span class="lc-dim">–</span>' : ' <span class="lc-need">?</span>');
  }
  function nodeHtml(n) {
    const g = view.geometry;
    const status = n.status || "";
    const badge = status ? '<span class="lc-badge">' + esc(n.changed && status === "pending" ? "changed" : status) + "</span>" : "";
    const rows = Math.max(n.inputs.length, n.outputs.length, 1);
    let body = "";
    for (let i = 0; i < rows; i++) {
      const a = n.inputs[i], b = n.outputs[i];
      body += '<div class="lc-row" style="top:' + (g.head + i * g.row) + "px;height:" + g.row + 'px">' +
        '<span class="lc-l">' + (a ? inLabel(a) : "") + "</span>" +
        '<span class="lc-r">' + (b ? esc(b.name) + (b.value != null ? ' <b class="lc-lit">' + esc(b.value) + "</b>" : "") : "") + "</span></div>";
    }
    let y = g.head + rows * g.row;
    const thumbs = n.outputs.filter((o) => o.thumb);
    if (thumbs.length) {
      body += '<div class="lc-thumbs" style="top:' + y + "px;height:" + g.thumb + 'px">' +
        thumbs.map((o) => '<img alt="' + esc(n.title + " " + o.name) + '" title="' + esc(o.name) + '" src="' + o.thumb + '">').join("") + "</div>";
      y += g.thumb;
    }
    if (n.engine) {
      const eng = n.ran_engine || n.engine.active || "no engine";
      const secs = n.seconds != null ? " · " + n.seconds.toFixed(2) + " s" : "";
      const note = n.changed ? " · will run" : "";
      body += '<div class="lc-foot" style="top:' + y + 'px">' + esc(eng + (n.engine.chosen ? " (set)" : "") + secs + note) + "</div>";
      y += g.foot;
    }
    const problems = (n.error ? [n.error] : []).concat(n.problems || []);
    if (problems.length) {
      body += '<div class="lc-problems" style="top:' + y + 'px">' +
        problems.slice(0, 2).map((t) => '<div title="' + esc(t) + '">⚠ ' + esc(t) + "</div>").join("") + "</div>";
    }
    const ports = n.inputs.map((p) => portHtml(p, "in", n)).join("") + n.outputs.map((p) => portHtml(p, "out", n)).join("");
    const cls = "lc-node lc-kind-" + (n.kind || "unknown") + (status ? " lc-st-" + status : "") +
      (problems.length ? " lc-bad" : "") + (n.id === selected ? " lc-selected" : "");
    return '<div class="' + cls + '" data-id="' + n.id + '" style="left:' + n.x + "px;top:" + n.y + "px;width:" + n.w +
      "px;height:" + n.h + "px;--lc-fill:" + n.colour + '">' +
      '<div class="lc-head" style="height:' + g.head + 'px"><span class="lc-title">' + esc(n.title) + "</span>" + badge + "</div>" +
      body + ports + "</div>";
  }
  function curve(x1, y1, x2, y2) {
    const dx = Math.max(40, Math.abs(x2 - x1) / 2);
    return "M" + x1 + "," + y1 + " C" + (x1 + dx) + "," + y1 + " " + (x2 - dx) + "," + y2 + " " + x2 + "," + y2;
  }
  function polyline(pts) { // straight runs with rounded corners
    let d = "M" + pts[0][0] + "," + pts[0][1];
    for (let i = 1; i < pts.length - 1; i++) {
      const [px, py] = pts[i - 1], [cx, cy] = pts[i], [nx, ny] = pts[i + 1];
      const r = Math.min(8, Math.hypot(cx - px, cy - py) / 2, Math.hypot(nx - cx, ny - cy) / 2);
      const ax = cx - Math.sign(cx - px) * r, ay = cy - Math.sign(cy - py) * r;
      const bx = cx + Math.sign(nx - cx) * r, by = cy + Math.sign(ny - cy) * r;
      d += " L" + ax + "," + ay + " Q" + cx + "," + cy + " " + bx + "," + by;
    }
    const last = pts[pts.length - 1];
    return d + " L" + last[0] + "," + last[1];
  }
  function drawEdges() {
    svg.innerHTML = "";
    svg.setAttribute("width", view.width); svg.setAttribute("height", view.height);
    for (const e of view.edges) {
      const p = document.createElementNS(NS, "path");
      p.setAttribute("d", e.points ? polyline(e.points) : curve(e.x1, e.y1, e.x2, e.y2));
      p.setAttribute("class", "lc-edge");
      p.setAttribute("data-edge", e.from + "." + e.out + ">" + e.to + "." + e.in);
      p.style.stroke = view.colours.types[e.type] || "#64748b";
      svg.appendChild(p);
    }
    const temp = document.createElementNS(NS, "path");
    temp.setAttribute("class", "lc-wire"); svg.appendChild(temp);
  }
  function drawLegend() {
    const hasStatus = view.nodes.some((n) => n.status);
    const colours = hasStatus ? view.colours.status : { predict: view.colours.kind.predict, edit: view.colours.kind.edit };
    let html = Object.entries(colours).map(([name, c]) => '<span><i style="background:' + c + '"></i>' + esc(name) + "</span>").join("");
    html += '<span class="lc-sep"></span>' + Object.entries(view.colours.types).map(([name, c]) =>
      '<span><i class="lc-dot" style="border-color:' + c + '"></i>' + esc(name) + "</span>").join("");
    if (view.run) html += '<span class="lc-run-info">last run: executed ' + esc(view.run.executed.join(", ") || "none") +
      " · cached " + esc(view.run.cached.join(", ") || "none") + "</span>";
    $(".lc-legend").innerHTML = html;
  }
  function drawPalette() {
    const sel = $(".lc-add-brick");
    const key = JSON.stringify(view.palette);
    if (sel.dataset.key === key) return;
    sel.dataset.key = key;
    const opts = view.palette.slice().sort((a, b) => (b.available - a.available) || a.name.localeCompare(b.name));
    sel.innerHTML = opts.map((b) => '<option value="' + esc(b.name) + '"' + (b.available ? "" : " disabled") + ' title="' + esc(b.summary) + '">' +
      esc(b.name + (b.available ? "" : " (no engine here)") + " — " + b.summary) + "</option>").join("");
  }
  function draw() {
    let next = null;
    try { next = props.value ? JSON.parse(props.value) : null; } catch (err) { next = null; }
    if (pending && next && next.ack === pending.seq) { pending = null; clearTimeout(pump.timer); }
    if (!pending) root.classList.remove("lc-busy");
    setTimeout(pump, 0);
    if (!next) { message.textContent = "No workflow yet: plan an edit, or add bricks with + Add brick."; return; }
    view = next;
    byId = {};
    for (const n of view.nodes) byId[n.id] = n;
    drawPalette();
    if (view.error) {
      message.textContent = view.error;
      message.classList.add("lc-bad");
    } else {
      message.classList.remove("lc-bad");
      message.textContent = (view.problems || []).map((t) => "⚠ " + t).join("\n") || view.message || "";
    }
    if (!view.nodes.length) { if (view.notice) toast(view.notice, true); return; }
    world.style.width = view.width + "px"; world.style.height = view.height + "px";
    layer.innerHTML = view.nodes.map(nodeHtml).join("");
    drawEdges();
    drawLegend();
    const ids = view.nodes.map((n) => n.id).join(" ");
    const before = new Set(shownIds.split(" "));
    if (!shownIds || !view.nodes.some((n) => n.kind !== "init" && n.kind !== "result" && before.has(n.id))) fit(true);
    shownIds = ids;
    if (view.focus != null) { selected = "step" + view.focus; reveal(selected); }
    if (selected && !byId[selected]) selected = null;
    markSelected();
    drawPanel();
    if (view.notice) toast(view.notice, true);
  }
  function markSelected() {
    for (const el of layer.querySelectorAll(".lc-node")) el.classList.toggle("lc-selected", el.dataset.id === selected);
  }

  // -- the node panel -----------------------------------------------------------------------
  function sourceSelect(p, attrs, emptyLabel) {
    const opts = ['<option value="">' + esc(emptyLabel) + "</option>"];
    if (p.ref && !p.sources.includes(p.ref)) opts.push('<option value="' + esc(p.ref) + '" selected>' + esc(p.ref + " (not available)") + "</option>");
    for (const s of p.sources) opts.push('<option value="' + esc(s) + '"' + (s === p.ref ? " selected" : "") + ">" + esc(s) + "</option>");
    return '<select class="lc-src" ' + attrs + ">" + opts.join("") + "</select>";
  }
  function inputField(n, p) {
    const attrs = 'data-input="' + esc(p.name) + '" aria-label="' + esc(n.title + " " + p.name) + '"';
    let html = '<div class="lc-field"><label>' + esc(p.name) + ' <span class="lc-dim">' + esc(p.type + (p.optional ? ", optional" : "")) +
      (p.range ? ", " + p.range[0] + " … " + p.range[1] : "") + "</span></label>";
    if (p.type === "Image" || p.type === "Mask") {
      html += sourceSelect(p, attrs, p.optional ? "— none —" : "— not connected —");
    } else {
      const num = p.type === "Float";
      const range = p.range ? ' min="' + p.range[0] + '" max="' + p.range[1] + '"' : "";
      html += '<input class="lc-lit" ' + attrs + (num ? ' type="number" step="any"' + range : ' type="text"') +
        ' value="' + esc(p.literal == null ? "" : p.literal) + '" placeholder="' + esc(p.ref ? "wired: " + p.ref : (p.optional ? "empty = not given" : "required")) + '">';
      if (p.sources.length || p.ref) html += sourceSelect(p, 'data-wire="1" ' + attrs, "or wire a " + p.type + "…");
    }
    return html + "</div>";
  }
  function drawPanel() {
    const n = selected && byId[selected];
    if (!n) {
      panel.innerHTML = '<p class="lc-dim">Click a node to see its inputs, parameters, engine, time and outputs.</p>';
      return;
    }
    let html = '<div class="lc-panel-head" style="--lc-fill:' + n.colour + '"><b>' + esc(n.title) + "</b>" +
      (n.kind && n.kind !== "init" && n.kind !== "result" ? ' <span class="lc-dim">' + esc(n.kind) + "</span>" : "") +
      (n.step != null ? '<button type="button" class="lc-delete">Delete step</button>' : "") + "</div>";
    if (n.summary) html += '<p class="lc-summary">' + esc(n.summary) + "</p>";
    if (n.step != null && n.engine) {
      let state = "not run yet";
      if (n.status === "cached") state = "cached: taken from the step cache (" + (n.seconds || 0).toFixed(2) + " s)";
      else if (n.status === "done") state = "ran in " + (n.seconds || 0).toFixed(2) + " s on " + (n.ran_engine || n.engine.active);
      else if (n.status === "failed") state = "failed";
      else if (n.status === "running") state = "running…";
      else if (n.changed) state = "changed since the last run: runs next time";
      html += '<p class="lc-state">' + esc(state) + "</p>";
      html += '<div class="lc-field"><label>engine</label><select class="lc-engine" aria-label="' + esc(n.title + " engine") + '">' +
        '<option value="">auto (' + esc(n.engine.active || "none available") + ")</option>" +
        n.engine.choices.map((e) => '<option value="' + esc(e.name) + '"' + (e.name === n.engine.chosen ? " selected" : "") +
          (e.available ? "" : " disabled") + ' title="' + esc(e.reason) + '">' + esc(e.name + " (" + e.kind + ")" + (e.available ? "" : " — " + e.reason)) + "</option>").join("") +
        "</select></div>";
    }
    if (n.kind === "result") {
      n.inputs.forEach((p, i) => {
        html += '<div class="lc-field"><label>' + esc(p.add ? "add a result" : "result " + p.name) + "</label>" +
          sourceSelect(p, 'data-result="' + i + '"', p.add ? "— pick an output —" : "— choose —") +
          (p.add ? "" : '<button type="button" class="lc-unresult" data-result="' + i + '">remove</button>') + "</div>";
      });
    } else if (n.step != null) {
      html += '<h4>inputs</h4>' + n.inputs.map((p) => inputField(n, p)).join("");
    }
    if (n.outputs.length && n.step != null) {
      html += "<h4>outputs</h4>" + n.outputs.map((o) => '<div class="lc-out-item"><span>' + esc(o.name) + ' <span class="lc-dim">' + esc(o.type) + "</span></span>" +
        (o.thumb ? '<img alt="' + esc(n.title + " " + o.name) + '" src="' + o.thumb + '">' : o.value != null ? " <b>" + esc(o.value) + "</b>" : ' <span class="lc-dim">not run</span>') + "</div>").join("");
    }
    const problems = (n.error ? ["failed: " + n.error] : []).concat(n.problems || []);
    if (problems.length) html += '<ul class="lc-problem-list">' + problems.map((t) => "<li>" + esc(t) + "</li>").join("") + "</ul>";
    panel.innerHTML = html;
  }

  panel.addEventListener("change", (e) => {
    const t = e.target, n = byId[selected];
    if (!n) return;
    if (t.classList.contains("lc-engine")) send({ op: "engine", step: n.step, engine: t.value || null });
    else if (t.dataset.result != null) {
      if (t.value) send({ op: "connect", source: t.value, result: Number(t.dataset.result) });
    } else if (t.classList.contains("lc-src")) {
      if (t.value) send({ op: "connect", source: t.value, step: n.step, input: t.dataset.input });
      else if (!t.dataset.wire) send({ op: "disconnect", step: n.step, input: t.dataset.input });
    } else if (t.classList.contains("lc-lit")) send({ op: "set", step: n.step, input: t.dataset.input, value: t.value });
  });
  panel.addEventListener("click", (e) => {
    const n = byId[selected];
    if (!n) return;
    if (e.target.classList.contains("lc-delete")) { send({ op: "delete", step: n.step }); selected = null; }
    if (e.target.classList.contains("lc-unresult")) send({ op: "unresult", result: Number(e.target.dataset.result) });
  });
  panel.addEventListener("keydown", (e) => { if (e.key === "Enter" && e.target.classList.contains("lc-lit")) e.target.blur(); });

  // -- wiring -------------------------------------------------------------------------------
  function accepts(el, ref) {
    const n = byId[el.dataset.node];
    const p = n && n.inputs.find((q) => q.name === el.dataset.input);
    return !!p && p.sources.includes(ref);
  }
  function startWire(el, e) {
    const n = byId[el.closest(".lc-node").dataset.id];
    const out = n.outputs.find((o) => o.ref === el.dataset.ref);
    wire = { ref: out.ref, type: out.type, x: n.x + n.w, y: n.y + out.y, moved: false, armed: false };
    for (const p of layer.querySelectorAll(".lc-port.lc-in")) {
      const ok = accepts(p, wire.ref);
      p.classList.toggle("lc-ok", ok); p.classList.toggle("lc-no", !ok);
    }
    root.classList.add("lc-wiring");
    moveWire(e);
  }
  function moveWire(e) {
    const w = toWorld(e);
    svg.querySelector(".lc-wire").setAttribute("d", curve(wire.x, wire.y, w.x, w.y));
  }
  function endWire() {
    if (wire && wire.armed && !toastBox.classList.contains("lc-bad")) toastBox.classList.remove("lc-show");
    wire = null;
    root.classList.remove("lc-wiring");
    const temp = svg.querySelector(".lc-wire");
    if (temp) temp.setAttribute("d", "");
    for (const p of layer.querySelectorAll(".lc-ok, .lc-no")) p.classList.remove("lc-ok", "lc-no");
  }
  function dropWire(target) {
    const ref = wire.ref, type = wire.type;
    endWire();
    if (!target) return;
    const n = byId[target.dataset.node];
    const p = n.inputs.find((q) => q.name === target.dataset.input);
    if (!p.sources.includes(ref)) {
      toast(n.title + "'s " + (n.kind === "result" ? "result" : p.name) + " takes " + p.type.replace("|", " or ") +
        (p.type.includes(type) ? " only from steps it does not feed" : "; " + ref + " carries " + type), true);
      return;
    }
    if (n.kind === "result") {
      send({ op: "connect", source: ref, result: p.add ? n.inputs.length - 1 : Number(p.name) - 1 });
    } else send({ op: "connect", source: ref, step: n.step, input: p.name });
  }

  // -- pointer handling ---------------------------------------------------------------------
  viewport.addEventListener("pointerdown", (e) => {
    if (e.button !== undefined && e.button > 0) return;
    const port = e.target.closest(".lc-port");
    if (wire && wire.armed) { // a tapped output port waits for a tap on an input port
      dropWire(port && port.classList.contains("lc-in") ? port : null);
      e.preventDefault();
      return;
    }
    if (port && port.classList.contains("lc-out")) {
      viewport.setPointerCapture(e.pointerId);
      startWire(port, e);
      e.preventDefault();
      return;
    }
    const node = e.target.closest(".lc-node");
    pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
    viewport.setPointerCapture(e.pointerId);
    if (pointers.size === 2) {
      const [a, b] = [...pointers.values()];
      pinch = { d: Math.hypot(a.x - b.x, a.y - b.y), k };
      drag = null;
      return;
    }
    drag = { kind: node ? "node" : "pan", id: node && node.dataset.id, x: e.clientX, y: e.clientY, tx, ty, moved: false };
  });
  viewport.addEventListener("pointermove", (e) => {
    if (wire) {
      if (!wire.armed) wire.moved = true;
      moveWire(e);
      return;
    }
    if (!pointers.has(e.pointerId)) return;
    pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
    if (pinch && pointers.size === 2) {
      const [a, b] = [...pointers.values()];
      const r = viewport.getBoundingClientRect();
      const factor = (pinch.k * Math.hypot(a.x - b.x, a.y - b.y) / pinch.d) / k;
      zoomAt(factor, (a.x + b.x) / 2 - r.left, (a.y + b.y) / 2 - r.top);
      return;
    }
    if (!drag) return;
    const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 4) drag.moved = true;
    if (drag.moved) { tx = drag.tx + dx; ty = drag.ty + dy; apply(); }
  });
  function release(e) {
    if (wire && !wire.armed) {
      if (!wire.moved) { wire.armed = true; toast("Now tap an input port to wire " + wire.ref + " (tap elsewhere to cancel)"); return; }
      const under = document.elementFromPoint(e.clientX, e.clientY);
      const target = under && under.closest(".lc-port.lc-in");
      dropWire(target);
      return;
    }
    pointers.delete(e.pointerId);
    if (pointers.size < 2) pinch = null;
    if (drag && !drag.moved) {
      selected = drag.kind === "node" ? drag.id : null;
      markSelected();
      drawPanel();
    }
    drag = null;
  }
  viewport.addEventListener("pointerup", release);
  viewport.addEventListener("pointercancel", (e) => { pointers.delete(e.pointerId); drag = null; pinch = null; if (wire && !wire.armed) endWire(); });
  viewport.addEventListener("wheel", (e) => {
    if (!e.ctrlKey && !e.metaKey) return; // plain wheel scrolls the page
    e.preventDefault();
    const r = viewport.getBoundingClientRect();
    zoomAt(Math.exp(-e.deltaY * 0.002), e.clientX - r.left, e.clientY - r.top);
  }, { passive: false });
  viewport.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && wire) endWire();
    if ((e.key === "Delete" || e.key === "Backspace") && selected && byId[selected] && byId[selected].step != null && e.target === viewport) {
      send({ op: "delete", step: byId[selected].step }); selected = null;
    }
  });

  // -- toolbar ------------------------------------------------------------------------------
  $(".lc-add").addEventListener("click", () => {
    const brick = $(".lc-add-brick").value;
    if (brick) send({ op: "add", brick });
  });
  $(".lc-run").addEventListener("click", () => { root.classList.add("lc-busy"); trigger("submit"); });
  $(".lc-zoom-in").addEventListener("click", () => zoomAt(1.25, viewport.clientWidth / 2, viewport.clientHeight / 2));
  $(".lc-zoom-out").addEventListener("click", () => zoomAt(0.8, viewport.clientWidth / 2, viewport.clientHeight / 2));
  $(".lc-fit").addEventListener("click", () => fit(false));

  watch("value", draw);
  draw();
})();
