// PandaSet gallery: paged, filtered pairs with region outlines, Distortion Graphs, statistics.
// Data comes from data/index.js (window.GALLERY), data/stats.js (window.GALLERY_STATS) and
// data/shapes/<image>.js (window.SHAPES_<image>), loaded with script tags: no server needed.
"use strict";
(function () {
  const G = window.GALLERY;
  const S = window.GALLERY_STATS;
  const V = G.vocab;
  const PAGE = 24;
  const SVG = "http://www.w3.org/2000/svg";
  const NODE = { a: "#D9ACF5", b: "#BBD8A3", attribute: "#FFACC7", art: "#BCCEF8" };
  const SPLIT_COLOURS = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3"];
  const state = { split: "", source: "", distortion: "", severity: "", comparison: "", page: 0,
    pair: null, pinned: null };
  const shapes = new Map();

  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    for (const c of children) node.append(c);
    return node;
  }
  function s(tag, attrs, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    for (const c of children) node.append(c);
    return node;
  }
  const colour = (c) => V.comparison_colours[V.comparisons[c]];
  const swatch = (fill) => h("span", { class: "swatch", style: `background:${fill}` });

  function loadShapes(n) {
    if (!shapes.has(n)) {
      shapes.set(n, new Promise((resolve, reject) => {
        const tag = h("script", { src: `data/shapes/${n}.js` });
        tag.onload = () => resolve(window[`SHAPES_${n}`]);
        tag.onerror = () => reject(new Error(`cannot load data/shapes/${n}.js`));
        document.head.append(tag);
      }));
    }
    return shapes.get(n);
  }

  // ---------------------------------------------------------------- filters and list
  function option(value, text) { return h("option", { value: String(value) }, text); }
  function fillSelect(id, entries) {
    const select = document.getElementById(id);
    select.append(option("", "all"), ...entries.map(([v, t]) => option(v, t)));
    select.addEventListener("change", () => {
      state[id.replace("filter-", "").replace("bench", "source")] = select.value;
      state.page = 0;
      renderList();
    });
  }
  function present(key) { return [...new Set(G.pairs.map((p) => p[key]))]; }

  function sideMatches(r, offset) {
    const d = state.distortion === "" ? -1 : Number(state.distortion);
    const v = state.severity === "" ? -1 : Number(state.severity);
    return (d < 0 || r[offset] === d) && (v < 0 || r[offset + 1] === v);
  }
  function matches(p) {
    if (state.split && p.split !== state.split) return false;
    if (state.source && p.source !== state.source) return false;
    const c = state.comparison === "" ? -1 : Number(state.comparison);
    return p.regions.some((r) => (sideMatches(r, 0) || sideMatches(r, 3)) && (c < 0 || r[6] === c));
  }

  function shot(pair, version, full) {
    const image = G.images[pair.image];
    const folder = full ? "img" : "thumb";
    const ext = full ? "png" : "jpg";
    const img = h("img", { src: `${folder}/${pair.image}/${version}.${ext}`, loading: "lazy",
      width: image.width, height: image.height, alt: `${image.tag} ${version}` });
    const svg = s("svg", { viewBox: `0 0 ${image.width} ${image.height}`,
      preserveAspectRatio: "none" });
    loadShapes(pair.image).then((paths) => {
      paths.forEach((d, i) => {
        const path = s("path", { d, class: "region", "fill-rule": "evenodd",
          stroke: colour(pair.regions[i][6]), "data-region": String(i) });
        svg.append(path);
      });
      svg.dispatchEvent(new CustomEvent("regions-ready"));
    }).catch((err) => console.error(err.message));
    return h("div", { class: "shot" }, img, svg);
  }

  function caption(p) {
    const image = G.images[p.image];
    return `${p.source} · ${p.split} · ${image.tag}: ${p.anchor} vs ${p.target}`;
  }

  function renderList() {
    const shown = G.pairs.filter(matches);
    const pages = Math.max(1, Math.ceil(shown.length / PAGE));
    state.page = Math.min(state.page, pages - 1);
    document.getElementById("count").textContent = String(shown.length);
    document.getElementById("page").textContent = String(state.page + 1);
    document.getElementById("pages").textContent = String(pages);
    const cards = document.getElementById("cards");
    cards.replaceChildren(...shown.slice(state.page * PAGE, (state.page + 1) * PAGE).map((p) => {
      const card = h("div", { class: "card", "data-pair": String(p.id) },
        h("div", { class: "thumbs" }, shot(p, p.anchor, false), shot(p, p.target, false)),
        h("div", { class: "caption" }, caption(p)));
      if (state.pair === p) card.classList.add("selected");
      card.addEventListener("click", () => renderDetail(p));
      return card;
    }));
  }

  // ---------------------------------------------------------------- pair detail
  function legend() {
    const items = V.comparisons.map((name, c) =>
      h("span", { class: "legend-item" }, swatch(colour(c)), name.replace("_", " ")));
    return [h("b", {}, "Region outline = comparison of A relative to B:"), ...items];
  }

  function label(list, id) { return list[id]; }

  function showRegion(i) {
    const p = state.pair;
    const info = document.getElementById("region-info");
    document.querySelectorAll("#sides .region").forEach((path) =>
      path.classList.toggle("active", Number(path.dataset.region) === i));
    if (i === null) {
      info.replaceChildren(h("p", { class: "hint" }, "Hover or click a region."));
      return;
    }
    const r = p.regions[i];
    const cell = (field, text) => h("td", { "data-field": field }, text);
    const row = (name, a, b) => h("tr", {}, h("th", {}, name), cell(`anchor-${name}`, a),
      cell(`target-${name}`, b));
    info.replaceChildren(
      h("h3", { "data-field": "name" }, G.images[p.image].labels[i]),
      h("table", {},
        h("tr", {}, h("th", {}, ""), h("th", {}, `A: ${p.anchor}`), h("th", {}, `B: ${p.target}`)),
        row("distortion", label(V.distortions, r[0]), label(V.distortions, r[3])),
        row("severity", label(V.severities, r[1]), label(V.severities, r[4])),
        row("score", r[2].toFixed(4), r[5].toFixed(4))),
      h("p", {}, "comparison (A relative to B): ", swatch(colour(r[6])),
        h("b", { "data-field": "comparison" }, V.comparisons[r[6]])));
  }

  function wireRegions(figure) {
    const svg = figure.querySelector("svg");
    svg.addEventListener("mouseover", (e) => {
      if (state.pinned === null && e.target.dataset.region) showRegion(Number(e.target.dataset.region));
    });
    svg.addEventListener("mouseleave", () => { if (state.pinned === null) showRegion(null); });
    svg.addEventListener("click", (e) => {
      if (!e.target.dataset.region) return;
      const i = Number(e.target.dataset.region);
      state.pinned = state.pinned === i ? null : i;
      showRegion(state.pinned === null ? i : state.pinned);
    });
  }

  function renderDetail(p) {
    state.pair = p;
    state.pinned = null;
    document.querySelectorAll(".card").forEach((c) =>
      c.classList.toggle("selected", Number(c.dataset.pair) === p.id));
    const detail = document.getElementById("detail");
    detail.hidden = false;
    document.getElementById("detail-title").textContent = caption(p);
    document.getElementById("legend").replaceChildren(...legend());
    for (const [side, version, letter] of [["anchor", p.anchor, "A"], ["target", p.target, "B"]]) {
      const figure = detail.querySelector(`.side[data-side="${side}"]`);
      const open = h("button", { type: "button", class: "full-size" }, "full size");
      open.addEventListener("click", () => openLightbox(p, version));
      figure.querySelector("figcaption").replaceChildren(`${letter} (${side}): ${version} `, open);
      const frame = figure.querySelector(".frame");
      frame.replaceChildren(shot(p, version, true));
      wireRegions(figure);
    }
    showRegion(null);
    const names = G.images[p.image].names;
    const graphs = [drawGraph("Distortion Graph: ground truth", names, p.regions, p)];
    for (const pred of p.predicted) {
      graphs.push(drawGraph(`Distortion Graph: predicted by ${pred.model}`, pred.names, pred.regions, p));
    }
    document.getElementById("graphs").replaceChildren(...graphs);
    detail.scrollIntoView({ block: "start" });
  }

  function openLightbox(p, version) {
    const box = document.getElementById("lightbox");
    document.getElementById("lightbox-img").src = `img/${p.image}/${version}.png`;
    document.getElementById("lightbox-caption").textContent =
      `${G.images[p.image].tag}, ${version}: full size (click to close)`;
    box.hidden = false;
  }

  // ---------------------------------------------------------------- Distortion Graph
  function textWidth(text) { return 8 + text.length * 6.3; }
  function short(text, most) { return text.length > most ? `${text.slice(0, most - 1)}…` : text; }

  function drawGraph(title, names, regions, p) {
    const rowH = 66;
    const cols = { attrA: 42, objA: 172, art: 322, objB: 472, attrB: 604 };
    const width = 650;
    const height = Math.max(1, regions.length) * rowH + 20;
    const edges = s("g", { class: "edges", stroke: "#777", "stroke-width": "1.2" });
    const nodes = s("g", { class: "nodes" });
    const node = (x, y, text, fill, stroke) => {
      const shown = short(text, 19);
      const w = textWidth(shown);
      nodes.append(s("g", {}, s("title", {}, text),
        s("rect", { x: x - w / 2, y: y - 9, width: w, height: 18, rx: 8, fill,
          stroke: stroke || "#555" }),
        s("text", { x, y: y + 4, "text-anchor": "middle" }, shown)));
    };
    const edge = (x1, y1, x2, y2) => edges.append(s("line", { x1, y1, x2, y2 }));
    regions.forEach((r, i) => {
      const y = 10 + i * rowH + rowH / 2;
      const attrs = (offset) => [V.distortions[r[offset]], V.severities[r[offset + 1]],
        Number(r[offset + 2]).toFixed(4)];
      attrs(0).forEach((text, k) => { edge(cols.objA, y, cols.attrA, y + (k - 1) * 20);
        node(cols.attrA, y + (k - 1) * 20, text, NODE.attribute); });
      attrs(3).forEach((text, k) => { edge(cols.objB, y, cols.attrB, y + (k - 1) * 20);
        node(cols.attrB, y + (k - 1) * 20, text, NODE.attribute); });
      edge(cols.objA, y, cols.objB, y);
      node(cols.objA, y, names[i], NODE.a);
      node(cols.objB, y, names[i], NODE.b);
      node(cols.art, y, V.comparisons[r[6]], NODE.art, colour(r[6]));
    });
    const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", class: "graph-svg" },
      edges, nodes);
    const key = [["region in A (" + p.anchor + ")", NODE.a], ["region in B (" + p.target + ")", NODE.b],
      ["attribute: distortion, severity, score", NODE.attribute],
      ["comparison, A relative to B (border: its colour)", NODE.art]];
    return h("div", { class: "graph" }, h("h3", {}, title),
      h("div", { class: "legend" }, ...key.map(([t, c]) => h("span", {}, swatch(c), t))), svg);
  }

  // ---------------------------------------------------------------- statistics (figure 6)
  function barChart(title, yTitle, xTitle, names, perSplit) {
    const splits = Object.keys(perSplit);
    const width = Math.max(520, 70 + names.length * (18 * splits.length + 14));
    const height = 330;
    const left = 56, bottom = 110, top = 28;
    const plotH = height - bottom - top;
    const max = Math.max(1, ...splits.flatMap((sp) => names.map((n) => perSplit[sp][n] || 0)));
    const ceil = Math.ceil(max / 10) * 10;
    const y = (v) => top + plotH - (v / ceil) * plotH;
    const group = (width - left - 10) / names.length;
    const bar = Math.min(18, (group - 6) / splits.length);
    const svg = s("svg", { width, height, class: "chart", role: "img" },
      s("text", { x: left, y: 16, class: "axis-title" }, title));
    for (let t = 0; t <= ceil; t += ceil / 5) {
      svg.append(s("line", { x1: left, x2: width - 10, y1: y(t), y2: y(t), stroke: "#e3e6ea" }),
        s("text", { x: left - 6, y: y(t) + 4, "text-anchor": "end" }, `${t.toFixed(0)}%`));
    }
    names.forEach((name, i) => {
      const x0 = left + i * group + (group - bar * splits.length) / 2;
      splits.forEach((sp, k) => {
        const v = perSplit[sp][name] || 0;
        svg.append(s("rect", { x: x0 + k * bar, y: y(v), width: bar - 1, height: y(0) - y(v),
          fill: SPLIT_COLOURS[k % SPLIT_COLOURS.length] },
          s("title", {}, `${sp}, ${name}: ${v.toFixed(1)}%`)));
      });
      const cx = left + i * group + group / 2;
      svg.append(s("text", { x: cx, y: y(0) + 12, "text-anchor": "end",
        transform: `rotate(-40 ${cx} ${y(0) + 12})` }, name));
    });
    svg.append(s("line", { x1: left, x2: left, y1: top, y2: y(0), stroke: "#333" }),
      s("line", { x1: left, x2: width - 10, y1: y(0), y2: y(0), stroke: "#333" }),
      s("text", { x: 14, y: top + plotH / 2, class: "axis-title", "text-anchor": "middle",
        transform: `rotate(-90 14 ${top + plotH / 2})` }, yTitle),
      s("text", { x: left + (width - left) / 2, y: height - 6, class: "axis-title",
        "text-anchor": "middle" }, xTitle));
    const key = splits.map((sp, k) => h("span", {}, swatch(SPLIT_COLOURS[k % SPLIT_COLOURS.length]),
      `${sp} (${S.images[sp]} images)`));
    return h("div", { class: "chart" }, h("div", { class: "legend" }, ...key), svg);
  }

  function renderStats() {
    const view = document.getElementById("stats-view");
    const metric = `${S.metric} (pyiqa ${S.pyiqa})`;
    const groups = Object.entries(S.super_categories).map(([name, families]) =>
      h("li", {}, h("b", {}, name), `: ${families.join(", ")}`));
    view.replaceChildren(
      h("h2", {}, "Label statistics (the paper's figure 6), normalised per split"),
      h("p", {}, `Region scores: ${metric}. Comparisons come from ${S.metric} score ` +
        "differences of anchor and target. Regions are counted over every version; comparisons " +
        "over every ordered pair of versions."),
      barChart("Regions per distortion", "% of the split's regions", "distortion (region label)",
        V.distortions, S.distortion),
      barChart("Regions per severity", "% of the split's regions", "severity", V.severities,
        S.severity),
      barChart(`Region comparisons (from ${S.metric} score differences)`,
        "% of the split's region pairs", "comparison of anchor relative to target",
        V.comparisons, S.comparison),
      barChart("Regions per super-category", "% of the split's regions", "super-category",
        Object.keys(S.super_categories), S.super_category),
      h("p", {}, "Super-categories of the 14 distortion families:"), h("ul", {}, ...groups));
  }

  // ---------------------------------------------------------------- start
  function showTab(name) {
    document.getElementById("pairs-view").hidden = name !== "pairs";
    document.getElementById("stats-view").hidden = name !== "stats";
    document.getElementById("tab-pairs").classList.toggle("active", name === "pairs");
    document.getElementById("tab-stats").classList.toggle("active", name === "stats");
  }

  document.getElementById("recipe").textContent = `(recipe ${G.recipe})`;
  fillSelect("filter-split", present("split").map((v) => [v, v]));
  fillSelect("filter-bench", V.sources.filter((v) => present("source").includes(v)).map((v) => [v, v]));
  fillSelect("filter-distortion", V.distortions.map((n, i) => [i, n]));
  fillSelect("filter-severity", V.severities.map((n, i) => [i, n]));
  fillSelect("filter-comparison", V.comparisons.map((n, i) => [i, n]));
  document.getElementById("prev").addEventListener("click", () => {
    state.page = Math.max(0, state.page - 1); renderList(); });
  document.getElementById("next").addEventListener("click", () => { state.page += 1; renderList(); });
  document.getElementById("tab-pairs").addEventListener("click", () => showTab("pairs"));
  document.getElementById("tab-stats").addEventListener("click", () => showTab("stats"));
  document.getElementById("lightbox").addEventListener("click", (e) => {
    e.currentTarget.hidden = true; });
  renderStats();
  renderList();
}());
