// detail.js: one image large, with toggleable layers drawn over the
// project's own upright preview (object boxes with labels, face boxes
// with landmarks, text polygons; boxes under the confidence threshold
// hidden), and beside it everything the document says.
import { api, q, el, svg, enc, pct, when } from "./api.js";
import { currentKeys } from "./gallery.js";

const LAYERS = [
  ["objects", "Objects"],
  ["faces", "Faces"],
  ["landmarks", "Landmarks"],
  ["text", "Text"],
];

function section(title, open, ...body) {
  return el("details", { class: "section", open }, el("summary", {}, title), ...body);
}

function dl(pairs) {
  return el("dl", { class: "pairs" }, pairs.filter(([, v]) => v !== undefined && v !== null && v !== "").flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}

function bar(c) {
  const b = el("span", { class: "bar" }, el("span", { class: "fill" }));
  b.firstChild.style.width = Math.max(0, Math.min(100, c)) + "%";
  return b;
}

const attr = (a, yes, no) => (a ? (a.Value ? yes : no) + " " + pct(a.Confidence) : undefined);

function labelsSection(doc, highlight) {
  const labels = doc.Labels || [];
  if (!labels.length) return section("Labels", true, el("p", { class: "muted" }, "No labels."));
  const rows = labels.map((l) => {
    const li = el("li", { class: "label", tabindex: "0", dataset: { label: l.Name } },
      el("span", { class: "name" }, l.Name), bar(l.Confidence), el("span", { class: "conf" }, pct(l.Confidence)),
      (l.Instances || []).length ? el("span", { class: "muted small" }, " · " + l.Instances.length + (l.Instances.length === 1 ? " box" : " boxes")) : null,
      (l.Parents || []).length ? el("div", { class: "muted small" }, "parents: " + l.Parents.map((p) => p.Name).join(", ")) : null,
      (l.Categories || []).length ? el("div", { class: "muted small" }, "categories: " + l.Categories.map((p) => p.Name).join(", ")) : null,
      (l.Aliases || []).length ? el("div", { class: "muted small" }, "aliases: " + l.Aliases.map((p) => p.Name).join(", ")) : null);
    const on = () => highlight(l.Name, true);
    const off = () => highlight(l.Name, false);
    li.addEventListener("mouseenter", on);
    li.addEventListener("mouseleave", off);
    li.addEventListener("focus", on);
    li.addEventListener("blur", off);
    return li;
  });
  return section("Labels (" + labels.length + ")", true, el("ul", { class: "labels-list" }, rows));
}

function facesSection(doc) {
  const faces = doc.FaceDetails || [];
  if (!faces.length) return section("Faces", false, el("p", { class: "muted" }, doc.FaceDetails ? "No faces." : "Face detection did not run."));
  return section("Faces (" + faces.length + ")", true, faces.map((f, i) => {
    const emotions = (f.Emotions || []).slice().sort((a, b) => b.Confidence - a.Confidence).slice(0, 3).map((e) => e.Type.toLowerCase() + " " + pct(e.Confidence)).join(", ");
    return el("div", { class: "face" }, el("h4", {}, "Face " + (i + 1) + " · " + pct(f.Confidence)), dl([
      ["Age", f.AgeRange ? f.AgeRange.Low + "–" + f.AgeRange.High : undefined],
      ["Gender", f.Gender ? f.Gender.Value + " " + pct(f.Gender.Confidence) : undefined],
      ["Smile", attr(f.Smile, "yes", "no")],
      ["Eyeglasses", attr(f.Eyeglasses, "yes", "no")],
      ["Sunglasses", attr(f.Sunglasses, "yes", "no")],
      ["Beard", attr(f.Beard, "yes", "no")],
      ["Mustache", attr(f.Mustache, "yes", "no")],
      ["Eyes open", attr(f.EyesOpen, "yes", "no")],
      ["Mouth open", attr(f.MouthOpen, "yes", "no")],
      ["Emotions", emotions],
      ["Pose", f.Pose ? `roll ${f.Pose.Roll.toFixed(0)}°, yaw ${f.Pose.Yaw.toFixed(0)}°, pitch ${f.Pose.Pitch.toFixed(0)}°` : undefined],
      ["Landmarks", (f.Landmarks || []).length || undefined],
    ]));
  }));
}

function textSection(doc) {
  const all = doc.TextDetections || [];
  const lines = all.filter((t) => t.Type === "LINE");
  if (!lines.length) return section("Text", false, el("p", { class: "muted" }, doc.TextDetections ? "No text." : "Text detection did not run."));
  return section("Text (" + lines.length + (lines.length === 1 ? " line)" : " lines)"), true, el("ol", { class: "text-lines" }, lines.map((l) => {
    const words = all.filter((w) => w.Type === "WORD" && w.ParentId === l.Id);
    return el("li", {}, el("span", { class: "line" }, l.DetectedText), " ", el("span", { class: "muted small" }, pct(l.Confidence)),
      words.length ? el("div", { class: "words" }, words.map((w) => el("span", { class: "chip", title: pct(w.Confidence) }, w.DetectedText))) : null);
  })));
}

function moderationSection(doc) {
  const m = doc.ModerationLabels || [];
  if (!m.length) return section("Moderation", false, el("p", { class: "muted" }, doc.ModerationLabels ? "Nothing flagged." : "Moderation did not run."));
  return section("Moderation (" + m.length + ")", true, el("ul", { class: "plain" }, m.map((l) =>
    el("li", { class: "warn" }, l.Name, l.ParentName ? el("span", { class: "muted small" }, " (" + l.ParentName + ")") : null, " ", pct(l.Confidence)))));
}

function imageSection(doc, it) {
  const im = doc.Image || {};
  const p = doc.ImageProperties || {};
  const qa = p.Quality || {};
  const colours = (p.DominantColors || []).map((c) => {
    const sw = el("span", { class: "swatch", title: `${c.HexCode} ${c.CSSColor} ${pct(c.PixelPercent)}` });
    sw.style.background = c.HexCode;
    return sw;
  });
  return section("Image", false, dl([
    ["Size", im.Width ? im.Width + " × " + im.Height + " px" : undefined],
    ["Format", im.Format],
    ["Orientation", im.OrientationCorrection],
    ["Bytes", doc.Source ? doc.Source.Size.toLocaleString() : undefined],
    ["ETag", it.etag],
    ["Brightness", qa.Brightness !== undefined ? qa.Brightness.toFixed(1) : undefined],
    ["Sharpness", qa.Sharpness !== undefined ? qa.Sharpness.toFixed(1) : undefined],
    ["Contrast", qa.Contrast !== undefined ? qa.Contrast.toFixed(1) : undefined],
    ["Colours", colours.length ? el("span", { class: "swatches" }, colours) : undefined],
    ["Engine", doc.Engine ? doc.Engine.Name : undefined],
    ["Document", it.document],
    ["Written", when(it.modified)],
  ]));
}

// overlay draws the layers; it returns the SVG and a function that sets
// which layers show and the confidence threshold.
function overlay(doc, W, H) {
  const s = svg("svg", { class: "overlay", viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img", "aria-label": "detections" });
  const r = Math.max(W, H) * 0.005;
  const boxes = [];
  const rect = (b, cls, label, conf, layer) => {
    const e = svg("rect", { class: "box " + cls, x: b.Left * W, y: b.Top * H, width: b.Width * W, height: b.Height * H, "vector-effect": "non-scaling-stroke" },
      svg("title", {}, label + " " + pct(conf)));
    e.dataset.layer = layer;
    e.dataset.conf = conf;
    e.dataset.label = label;
    s.append(e);
    boxes.push({ e, b, label, conf, layer });
  };
  for (const l of doc.Labels || []) for (const i of l.Instances || []) rect(i.BoundingBox, "obj", l.Name, i.Confidence, "objects");
  for (const f of doc.FaceDetails || []) {
    rect(f.BoundingBox, "face", "Face", f.Confidence, "faces");
    for (const m of f.Landmarks || []) {
      const c = svg("circle", { class: "landmark", cx: m.X * W, cy: m.Y * H, r }, svg("title", {}, m.Type));
      c.dataset.layer = "landmarks";
      c.dataset.conf = f.Confidence;
      s.append(c);
    }
  }
  for (const t of doc.TextDetections || []) {
    if (t.Type !== "LINE") continue;
    const pts = (t.Geometry.Polygon || []).map((p) => `${p.X * W},${p.Y * H}`).join(" ");
    const g = svg("polygon", { class: "poly text", points: pts, "vector-effect": "non-scaling-stroke" }, svg("title", {}, t.DetectedText + " " + pct(t.Confidence)));
    g.dataset.layer = "text";
    g.dataset.conf = t.Confidence;
    s.append(g);
  }
  const apply = (layers, threshold) => {
    for (const e of s.querySelectorAll("[data-layer]")) {
      const on = layers[e.dataset.layer] && Number(e.dataset.conf) >= threshold;
      e.classList.toggle("hidden", !on);
    }
  };
  return { s, boxes, apply };
}

// placeCaptions puts a caption by each visible box, outside it where
// there is room, never over another caption; a box whose caption finds
// no place keeps only its tooltip.
function placeCaptions(layer, boxes, stageW, stageH) {
  layer.replaceChildren();
  const placed = [];
  const hit = (a) => placed.some((b) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h);
  const visible = boxes.filter((b) => !b.e.classList.contains("hidden"))
    .sort((a, b) => b.conf - a.conf || b.b.Width * b.b.Height - a.b.Width * a.b.Height);
  for (const bx of visible) {
    const cap = el("span", { class: "caption " + bx.layer }, bx.label + " " + Math.round(bx.conf) + "%");
    layer.append(cap);
    const cw = cap.offsetWidth, ch = cap.offsetHeight;
    const x = bx.b.Left * stageW, y = bx.b.Top * stageH, w = bx.b.Width * stageW, h = bx.b.Height * stageH;
    const tries = [[x, y - ch - 1], [x, y + h + 1], [x + w - cw, y - ch - 1], [x + w - cw, y + h + 1], [x + 1, y + 1]];
    let spot = null;
    for (const [cx, cy] of tries) {
      const c = { x: Math.max(0, Math.min(stageW - cw, cx)), y: Math.max(0, Math.min(stageH - ch, cy)), w: cw, h: ch };
      if (!hit(c)) { spot = c; break; }
    }
    if (!spot) { cap.remove(); bx.e.classList.add("uncaptioned"); continue; }
    bx.e.classList.remove("uncaptioned");
    placed.push(spot);
    cap.style.left = spot.x + "px";
    cap.style.top = spot.y + "px";
  }
}

export function detailView({ bus, root }, key) {
  let gone = false;
  const layers = Object.fromEntries(LAYERS.map(([k]) => [k, true]));
  let threshold = 50;
  let resize = null;

  async function render() {
    let d;
    try {
      d = await api("result" + q({ key }));
    } catch (e) {
      root.replaceChildren(el("p", { class: "err" }, "Could not open " + key + ": " + e.message), el("p", {}, el("a", { href: "#/" }, "← Gallery")));
      return;
    }
    if (gone) return;
    const { item: it, document: doc } = d;
    const i = currentKeys.indexOf(key);
    const prev = i > 0 ? currentKeys[i - 1] : null;
    const next = i >= 0 && i + 1 < currentKeys.length ? currentKeys[i + 1] : null;
    const head = el("div", { class: "detail-head" },
      el("a", { href: "#/", class: "back" }, "← Gallery"),
      el("h1", { class: "key" }, it.key),
      el("span", { class: "nav-buttons" },
        el("a", { class: "button" + (prev ? "" : " disabled"), href: prev ? "#/image/" + enc(prev) : undefined, "aria-label": "previous image" }, "‹"),
        el("a", { class: "button" + (next ? "" : " disabled"), href: next ? "#/image/" + enc(next) : undefined, "aria-label": "next image" }, "›")));
    const links = el("p", { class: "links" },
      it.execution ? el("a", { href: "#/executions/" + enc(it.execution), class: "exec-link" }, "Execution") : null, " ",
      it.failed ? null : el("a", { href: "api/original" + q({ key: it.key }), download: "" }, "Download original"));
    const raw = section(it.failed ? "Error document" : "Result document", it.failed, el("pre", { class: "json" }, JSON.stringify(doc, null, 2)));

    if (it.failed) {
      root.replaceChildren(el("article", { class: "detail" }, head, el("div", { class: "detail-body" },
        el("div", { class: "viewer" }, el("div", { class: "error-box" }, el("strong", { class: "code" }, it.error), el("p", {}, it.message || ""))),
        el("aside", { class: "panel" }, links, raw))));
      return;
    }
    const W = (doc.Image && doc.Image.Width) || it.width || 1000;
    const H = (doc.Image && doc.Image.Height) || it.height || 750;
    const img = el("img", { src: "api/preview" + q({ key: it.key, v: it.etag }), alt: it.key, width: W, height: H });
    const ov = overlay(doc, W, H);
    const captions = el("div", { class: "captions", "aria-hidden": "true" });
    const stage = el("div", { class: "stage" }, img, ov.s, captions);
    // As wide as the column, as tall as most of the window.
    stage.style.maxWidth = `min(100%, calc(78vh * ${W / H}))`;
    const flagged = (doc.ModerationLabels || []).length > 0;
    if (flagged) {
      stage.classList.add("blurred");
      const reveal = el("button", { type: "button", class: "reveal" }, "Flagged: " + doc.ModerationLabels.map((m) => m.Name).join(", ") + ". Show the image");
      reveal.onclick = () => { stage.classList.remove("blurred"); reveal.remove(); };
      stage.append(reveal);
    }
    const redraw = () => {
      ov.apply(layers, threshold);
      if (stage.clientWidth) placeCaptions(captions, layers.objects || layers.faces ? ov.boxes : [], stage.clientWidth, stage.clientHeight);
    };
    const toggles = LAYERS.map(([k, label]) => {
      const cb = el("input", { type: "checkbox", checked: layers[k], dataset: { layer: k } });
      cb.onchange = () => { layers[k] = cb.checked; redraw(); };
      return el("label", { class: "toggle" }, cb, " ", label);
    });
    const slider = el("input", { type: "range", min: "0", max: "100", step: "5", value: String(threshold), "aria-label": "confidence threshold" });
    const sliderValue = el("output", {}, threshold + "%");
    slider.oninput = () => { threshold = Number(slider.value); sliderValue.textContent = threshold + "%"; redraw(); };
    const highlight = (name, on) => {
      for (const b of ov.boxes) if (b.label === name) b.e.classList.toggle("hl", on);
    };
    root.replaceChildren(el("article", { class: "detail" }, head, el("div", { class: "detail-body" },
      el("div", { class: "viewer" },
        el("div", { class: "layers", role: "group", "aria-label": "Layers" }, toggles,
          el("label", { class: "toggle threshold" }, "hide under ", slider, " ", sliderValue)),
        stage),
      el("aside", { class: "panel" }, links, labelsSection(doc, highlight), facesSection(doc), textSection(doc), moderationSection(doc), imageSection(doc, it), raw))));
    img.addEventListener("load", redraw);
    if (img.complete) redraw();
    resize = new ResizeObserver(redraw);
    resize.observe(stage);
  }

  const onKey = (e) => {
    const t = e.target;
    if (t.matches && t.matches("textarea, input[type=search], input[type=text], input[type=password]")) return;
    if (e.key === "Escape") { location.hash = "#/"; return; }
    if (t.matches && t.matches("input[type=range], select")) return;
    const i = currentKeys.indexOf(key);
    if (e.key === "ArrowLeft" && i > 0) location.hash = "#/image/" + enc(currentKeys[i - 1]);
    if (e.key === "ArrowRight" && i >= 0 && i + 1 < currentKeys.length) location.hash = "#/image/" + enc(currentKeys[i + 1]);
  };
  document.addEventListener("keydown", onKey);
  const off = bus.on("document", (it) => { if (it.key === key) render(); });
  render();
  root.focus();
  return () => { gone = true; off(); document.removeEventListener("keydown", onKey); if (resize) resize.disconnect(); };
}
