// gallery.js: the gallery: thumbnails newest first, pages loaded as the
// end of the grid scrolls into view, search by label, filters, live
// updates from the event stream (no polling). Thumbnail URLs carry the
// object version, so each is fetched once and then served from cache.
import { api, q, el, enc, pct } from "./api.js";
import { uploadPanel } from "./upload.js";

const FILTERS = [
  ["faces", "Faces"],
  ["text", "Text"],
  ["moderation", "Flagged"],
  ["failed", "Failed"],
];

export function thumbURL(it) {
  return "api/thumb" + q({ key: it.key, v: it.etag });
}

// tile is one gallery item, a link to its detail view.
export function tile(it) {
  const badges = [];
  if (it.faces) badges.push(el("span", { class: "badge" }, it.faces === 1 ? "1 face" : it.faces + " faces"));
  if (it.textLines) badges.push(el("span", { class: "badge" }, "text"));
  if (it.moderation && it.moderation.length) badges.push(el("span", { class: "badge warn" }, "flagged"));
  const pic = it.failed
    ? el("div", { class: "pic failed" }, el("span", { class: "code" }, it.error))
    : el("div", { class: "pic" + (it.moderation && it.moderation.length ? " blurred" : "") },
      el("img", { src: thumbURL(it), alt: it.key, loading: "lazy", decoding: "async", width: it.width || 400, height: it.height || 300 }));
  const labels = it.failed
    ? el("p", { class: "err small clamp" }, it.message || "")
    : el("p", { class: "labels" }, (it.labels || []).slice(0, 3).map((l) => el("span", { class: "chip", title: pct(l.confidence) }, l.name)));
  return el("a", { class: "tile" + (it.failed ? " is-failed" : ""), href: "#/image/" + enc(it.key), dataset: { key: it.key } },
    pic, el("div", { class: "meta" }, el("span", { class: "key" }, it.key), badges.length ? el("span", { class: "badges" }, badges) : null, labels));
}

// The gallery's current list, for the detail view's previous/next keys.
export let currentKeys = [];

export function galleryView({ bus, params, root }) {
  const state = {
    text: params.get("q") || "",
    filters: Object.fromEntries(FILTERS.map(([k]) => [k, params.get(k) === "1"])),
    next: "",
    loading: false,
    seq: 0,
  };
  const search = el("input", { type: "search", placeholder: "Search labels (dog, car, text…)", value: state.text, "aria-label": "Search by label" });
  const chips = FILTERS.map(([k, label]) =>
    el("button", { type: "button", class: "filter", "aria-pressed": String(state.filters[k]), dataset: { filter: k } }, label, el("span", { class: "count" })));
  const summary = el("span", { class: "muted summary" });
  const fresh = el("button", { type: "button", class: "fresh", hidden: true });
  const grid = el("div", { class: "grid", role: "list" });
  const sentinel = el("div", { class: "sentinel muted" });
  const empty = el("p", { class: "muted empty", hidden: true });
  root.append(
    uploadPanel(bus),
    el("section", { class: "gallery", "aria-label": "Results" },
      el("div", { class: "toolbar" }, search, el("div", { class: "filters", role: "group", "aria-label": "Filters" }, chips), summary),
      fresh, grid, empty, sentinel));

  const query = (cursor) => q({ q: state.text.trim(), ...state.filters, cursor, limit: 60 });

  // writeHash keeps the search in the address, without a reload.
  const writeHash = () => {
    const s = q({ q: state.text.trim(), ...state.filters });
    history.replaceState(null, "", "#/" + s);
  };

  function counts(c, total, indexing) {
    for (const b of chips) b.querySelector(".count").textContent = " " + (c[b.dataset.filter] ?? 0);
    summary.textContent = total.toLocaleString() + (total === 1 ? " result" : " results") + (indexing ? " (indexing…)" : "");
  }

  async function load(reset) {
    if (state.loading && !reset) return;
    const seq = ++state.seq;
    state.loading = true;
    try {
      const p = await api("results" + query(reset ? "" : state.next));
      if (seq !== state.seq) return;
      if (reset) {
        grid.replaceChildren();
        currentKeys = [];
        fresh.hidden = true;
      }
      for (const it of p.items) {
        grid.append(tile(it));
        currentKeys.push(it.key);
      }
      state.next = p.next || "";
      counts(p.counts, p.total, p.indexing);
      empty.hidden = p.total > 0;
      empty.textContent = state.text || Object.values(state.filters).some(Boolean) ? "Nothing matches." : "No results yet: drop an image above.";
      sentinel.textContent = state.next ? "Loading more…" : "";
    } catch (e) {
      if (seq === state.seq) sentinel.textContent = "Could not load results: " + e.message;
    } finally {
      if (seq === state.seq) state.loading = false;
    }
    // A tall window may show the sentinel already: fill it.
    if (state.next && sentinel.getBoundingClientRect().top < innerHeight + 400) load(false);
  }

  const io = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting) && state.next) load(false);
  }, { rootMargin: "400px" });
  io.observe(sentinel);

  let timer = 0;
  search.oninput = () => {
    clearTimeout(timer);
    timer = setTimeout(() => { state.text = search.value; writeHash(); load(true); }, 200);
  };
  for (const b of chips) {
    b.onclick = () => {
      const k = b.dataset.filter;
      state.filters[k] = !state.filters[k];
      b.setAttribute("aria-pressed", String(state.filters[k]));
      writeHash();
      load(true);
    };
  }
  fresh.onclick = () => load(true);

  const filtered = () => state.text.trim() !== "" || Object.values(state.filters).some(Boolean);
  let newCount = 0;
  let countTimer = 0;
  const offs = [
    bus.on("document", (it) => {
      const old = grid.querySelector(`.tile[data-key="${CSS.escape(it.key)}"]`);
      if (filtered()) {
        // The server decides what matches: offer to refresh.
        newCount++;
        fresh.textContent = newCount === 1 ? "1 new result: show" : newCount + " new results: show";
        fresh.hidden = false;
        return;
      }
      if (old) old.remove();
      grid.prepend(tile(it));
      currentKeys = [it.key, ...currentKeys.filter((k) => k !== it.key)];
      empty.hidden = true;
      clearTimeout(countTimer);
      countTimer = setTimeout(() => api("results" + q({ limit: 1 })).then((p) => counts(p.counts, p.total, p.indexing)).catch(() => {}), 250);
    }),
    bus.on("removed", ({ key }) => {
      grid.querySelector(`.tile[data-key="${CSS.escape(key)}"]`)?.remove();
      currentKeys = currentKeys.filter((k) => k !== key);
    }),
    bus.on("reconnected", () => load(true)),
  ];
  fresh.addEventListener("click", () => { newCount = 0; });
  load(true);
  return () => { io.disconnect(); clearTimeout(timer); clearTimeout(countTimer); offs.forEach((f) => f()); };
}
