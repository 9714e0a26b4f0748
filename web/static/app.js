// imagerec page: uploads through presigned PUT URLs, polls results and
// executions, draws Rekognition-shaped boxes (fractions of the upright
// image) over each picture.
"use strict";
const $ = (id) => document.getElementById(id);
const api = async (path, opts) => {
  const r = await fetch("api/" + path, opts);
  if (!r.ok) throw new Error(path + ": " + r.status + " " + (await r.text()));
  return r.json();
};
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));

async function upload(file) {
  const li = document.createElement("li");
  li.textContent = file.name + ": uploading…";
  $("uploads").prepend(li);
  try {
    const { url } = await api("upload-url?key=" + encodeURIComponent(file.name) + "&type=" + encodeURIComponent(file.type), { method: "POST" });
    const r = await fetch(url, { method: "PUT", body: file, headers: file.type ? { "Content-Type": file.type } : {} });
    if (!r.ok) throw new Error(r.status + " " + (await r.text()));
    li.textContent = file.name + ": uploaded, recognising…";
  } catch (e) {
    li.innerHTML = esc(file.name) + ': <span class="err">' + esc(e.message) + "</span>";
  }
}

function box(b, cls, label) {
  const x = b.Left * 100, y = b.Top * 100, w = b.Width * 100, h = b.Height * 100;
  return `<g class="${cls}"><rect x="${x}%" y="${y}%" width="${w}%" height="${h}%" fill="none" stroke-width="2"/>` +
    (label ? `<text x="${x}%" y="${y}%" dy="-3" font-size="12">${esc(label)}</text>` : "") + "</g>";
}

const colours = { labels: "#2ad", faces: "#fa3", text: "#3d6" };
function overlay(doc) {
  let s = "";
  if ($("show-labels").checked) for (const l of doc.Labels || []) for (const i of l.Instances || []) s += box(i.BoundingBox, "labels", `${l.Name} ${i.Confidence.toFixed(0)}`);
  if ($("show-faces").checked) for (const f of doc.FaceDetails || []) s += box(f.BoundingBox, "faces", f.AgeRange ? `${f.Gender ? f.Gender.Value : ""} ${f.AgeRange.Low}-${f.AgeRange.High}` : "face");
  if ($("show-text").checked) for (const t of doc.TextDetections || []) if (t.Type === "LINE") s += box(t.Geometry.BoundingBox, "text", t.DetectedText);
  return `<svg>${s}</svg>`.replace(/<g class="(\w+)"><rect/g, (m, c) => `<g><rect stroke="${colours[c]}"`).replace(/<text /g, '<text fill="#fff" stroke="#000" stroke-width=".3" ');
}

const docs = new Map();
async function card(item) {
  let doc = docs.get(item.document + item.lastModified);
  if (!doc) {
    doc = await (await fetch(item.documentUrl)).json();
    docs.set(item.document + item.lastModified, doc);
  }
  const tags = (doc.Labels || []).slice(0, 12).map((l) => `<span class="tag">${esc(l.Name)} ${l.Confidence.toFixed(0)}</span>`).join("") +
    (doc.ModerationLabels || []).map((l) => `<span class="tag mod">${esc(l.Name)} ${l.Confidence.toFixed(0)}</span>`).join("");
  const text = (doc.TextDetections || []).filter((t) => t.Type === "LINE").map((t) => t.DetectedText).join(" / ");
  const body = item.failed
    ? `<div class="err">${esc(doc.Error)}: ${esc(doc.Message)}</div>`
    : `${tags}${doc.FaceDetails ? `<div>${doc.FaceDetails.length} face(s)</div>` : ""}${text ? `<div>text: ${esc(text)}</div>` : ""}`;
  const pic = item.failed ? "" : `<div class="pic"><img src="${item.imageUrl}" alt="">${overlay(doc)}</div>`;
  return `<div class="card">${pic}<div class="meta"><div class="key">${esc(item.key)}</div>${body}<div><a href="${item.documentUrl}" target="_blank">${esc(item.document)}</a></div></div></div>`;
}

async function refreshResults() {
  const items = await api("results?limit=24");
  const html = await Promise.all(items.map((it) => card(it).catch((e) => `<div class="card err">${esc(it.key)}: ${esc(e.message)}</div>`)));
  $("gallery").innerHTML = html.join("") || "<p>No results yet: upload an image.</p>";
}

let selected = "";
async function showHistory(arn) {
  selected = arn;
  const events = await api("history?arn=" + encodeURIComponent(arn));
  $("history").textContent = events.map((e) => `${e.id}\t${e.timestamp}\t${e.type}\t${e.details || ""}`).join("\n");
  refreshExecutions();
}

async function refreshExecutions() {
  const execs = await api("executions?limit=30");
  $("exec-rows").innerHTML = execs.map((e) => {
    const start = new Date(e.startDate), stop = e.stopDate ? new Date(e.stopDate) : null;
    const dur = stop ? ((stop - start) / 1000).toFixed(2) + " s" : "…";
    return `<tr data-arn="${esc(e.executionArn)}" class="${e.executionArn === selected ? "sel" : ""}"><td>${esc(e.name)}</td><td class="${e.status}">${e.status}${e.error ? " " + esc(e.error) : ""}</td><td>${start.toLocaleTimeString()}</td><td>${dur}</td></tr>`;
  }).join("");
  for (const tr of $("exec-rows").querySelectorAll("tr")) tr.onclick = () => showHistory(tr.dataset.arn);
}

async function refreshStatus() {
  const st = await api("status");
  $("status").hidden = !st.degraded;
  $("problems").innerHTML = st.problems.map((p) => `<li>${esc(p)}</li>`).join("");
}

async function tick() {
  try { await Promise.all([refreshResults(), refreshExecutions(), refreshStatus()]); } catch (e) { console.error(e); }
  setTimeout(tick, 2000);
}

(async function main() {
  const cfg = await api("config");
  $("buckets").textContent = `s3://${cfg.uploadBucket} → s3://${cfg.resultBucket}`;
  $("file").onchange = (e) => [...e.target.files].forEach(upload);
  const drop = $("drop");
  drop.ondragover = (e) => { e.preventDefault(); drop.classList.add("over"); };
  drop.ondragleave = () => drop.classList.remove("over");
  drop.ondrop = (e) => { e.preventDefault(); drop.classList.remove("over"); [...e.dataTransfer.files].forEach(upload); };
  for (const id of ["show-labels", "show-faces", "show-text"]) $(id).onchange = refreshResults;
  tick();
})();
