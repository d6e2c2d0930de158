/* heapshape report: the page (embedded into the HTML by analyzer/report/embed.py). Reads the
 * JSON document in #hs-data (format: analyzer/html_report.h) and draws the flame graph,
 * timeline, top lines, anatomy and advice. No libraries, no network. */
(function () {
  "use strict";
  var t0 = performance.now();
  var D = JSON.parse(document.getElementById("hs-data").textContent);
  document.documentElement.setAttribute("data-parse-ms", (performance.now() - t0).toFixed(1));
  var app = document.getElementById("app");
  var diff = D.diff;
  var view = 0; /* 0: now / new; 1: peak (the diff always shows new vs old) */

  /* ---- helpers ---- */
  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) {
      if (k === "text") e.textContent = attrs[k];
      else if (k === "cls") e.className = attrs[k];
      else e.setAttribute(k, attrs[k]);
    }
    if (kids) for (var i = 0; i < kids.length; i++) if (kids[i] != null) e.appendChild(kids[i]);
    return e;
  }
  /* tracemalloc._format_size(size, sign) */
  function size(n, sign) {
    var units = ["B", "KiB", "MiB", "GiB", "TiB"];
    for (var i = 0; i < units.length; i++) {
      var sg = sign && n >= 0 ? "+" : "";
      if (Math.abs(n) < 100 && i > 0) return sg + n.toFixed(1) + " " + units[i];
      if (Math.abs(n) < 10 * 1024 || i === units.length - 1) return sg + n.toFixed(0) + " " + units[i];
      n /= 1024;
    }
  }
  function pct(a, b) { return b ? (100 * a / b).toFixed(a / b < 0.001 ? 3 : 1) + "%" : "-"; }
  function num(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ","); }

  /* ---- the stack tree ---- */
  var S = D.stride, NN = D.nodes.length / S + 1; /* node 0 = root */
  var parent = new Int32Array(NN), label = new Int32Array(NN);
  var self = [new Float64Array(NN), new Float64Array(NN), new Float64Array(NN), new Float64Array(NN)];
  var kids = new Array(NN);
  for (var k = 1; k < NN; k++) {
    var o = (k - 1) * S;
    parent[k] = D.nodes[o]; label[k] = D.nodes[o + 1];
    self[0][k] = D.nodes[o + 2]; self[1][k] = D.nodes[o + 3];
    self[2][k] = D.nodes[o + 4]; self[3][k] = D.nodes[o + 5];
  }
  parent[0] = -1; label[0] = -1;
  for (k = 0; k < NN; k++) kids[k] = [];
  for (k = 1; k < NN; k++) kids[parent[k]].push(k);
  var tot = [new Float64Array(NN), new Float64Array(NN), new Float64Array(NN), new Float64Array(NN)];
  for (var c = 0; c < 4; c++) {
    for (k = NN - 1; k >= 0; k--) {
      tot[c][k] += self[c][k];
      if (k > 0) tot[c][parent[k]] += tot[c][k];
    }
  }
  /* width of a node: bytes of the view shown; a diff uses max(new, old) so shrinkage shows */
  var tTree = performance.now();
  function width(k) { return diff ? Math.max(tot[0][k], tot[2][k]) : tot[2 * view][k]; }
  function bytesOf(k) { return tot[2 * view][k]; }
  function blocksOf(k) { return tot[2 * view + 1][k]; }
  for (k = 0; k < NN; k++) kids[k].sort(function (a, b) { return width(b) - width(a); });

  function hash(s) { var h = 0; for (var i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0; return h; }
  function color(k) {
    if (diff) {
      var n = tot[0][k], o = tot[2][k], m = Math.max(n, o) || 1, r = (n - o) / m;
      if (Math.abs(r) < 0.02) return "hsl(220,8%,82%)";
      var l = 88 - Math.min(1, Math.abs(r)) * 38;
      return r > 0 ? "hsl(4,80%," + l + "%)" : "hsl(212,75%," + l + "%)";
    }
    var kind = D.kinds.charAt(label[k]), h = Math.abs(hash(D.labels[label[k]]));
    if (kind === "n") return "hsl(" + (190 + h % 40) + ",55%," + (68 + h % 12) + "%)";
    if (kind === "u") return "hsl(0,0%,78%)";
    return "hsl(" + (12 + h % 38) + ",85%," + (60 + h % 12) + "%)";
  }

  /* ---- header ---- */
  var M = D.meta;
  var hdr = el("header", null, [
    el("h1", {text: (diff ? "heapshape diff: " : "heapshape: ") + M.program}),
    el("div", {cls: "sub", text: (diff ? D.old_meta.path + "  \u2192  " : "") + M.path +
      "  \u00b7  " + M.cmdline + "  \u00b7  pid " + M.pid + "  \u00b7  python " + M.python +
      "  \u00b7  heapshape " + M.heapshape}),
  ]);
  var kp = el("div", {cls: "kpis"});
  function kpi(v, t, id) { var d = el("div", {cls: "kpi"}, [el("b", {text: v}), el("span", {text: t})]); if (id) d.id = id; kp.appendChild(d); }
  if (diff) {
    kpi(size(M.live_bytes - D.old_meta.live_bytes, true), "live bytes change", "kpi-live");
    kpi(size(D.old_meta.live_bytes) + " \u2192 " + size(M.live_bytes), "live bytes (old \u2192 new)");
    kpi(size(D.old_meta.peak_bytes) + " \u2192 " + size(M.peak_bytes), "peak (old \u2192 new)");
  } else {
    kpi(size(M.live_bytes), "live at " + M.reason + " (" + num(M.live_blocks) + " blocks)", "kpi-live");
    kpi(size(M.peak_bytes), "peak live bytes");
    kpi(num(M.allocs), "allocations (" + size(M.alloc_bytes) + ")");
    kpi(num(M.sites), "allocation sites");
    if (M.sample_rate) kpi(size(M.sample_rate), "sample rate: figures are estimates");
  }
  hdr.appendChild(kp);
  app.appendChild(hdr);
  var main = el("main");
  app.appendChild(main);

  /* ---- flame graph ---- */
  var fgSec = el("section", {id: "flamegraph"});
  var h2 = el("h2", {text: diff ? "Live bytes by stack: difference" : "Live bytes by stack"});
  h2.appendChild(el("small", {text: diff ? "width: the larger of old and new; red grew, blue shrank" :
    "click a frame to zoom, search to highlight; innermost frames at the bottom"}));
  fgSec.appendChild(h2);
  var tb = el("div", {cls: "toolbar"});
  var search = el("input", {type: "search", placeholder: "search frames (text or /regex/)", id: "fg-search"});
  var reset = el("button", {text: "Reset zoom", id: "fg-reset"});
  var found = el("span", {cls: "muted", id: "fg-found"});
  tb.appendChild(search); tb.appendChild(reset);
  var toggle = null;
  if (!diff && D.views.length > 1) {
    toggle = el("span", {cls: "toggle", id: "view-toggle"});
    var b0 = el("button", {text: "At " + M.reason, cls: "on", "data-view": "0"});
    var b1 = el("button", {text: "At the peak (" + size(M.peak_copy_bytes) + ", " + M.peak_copy_t.toFixed(3) + "s)", "data-view": "1"});
    toggle.appendChild(b0); toggle.appendChild(b1);
    tb.appendChild(toggle);
  }
  tb.appendChild(found);
  fgSec.appendChild(tb);
  var flame = el("div", {id: "flame"});
  fgSec.appendChild(flame);
  var tip = el("div", {id: "tip"});
  document.body.appendChild(tip);
  main.appendChild(fgSec);

  var focus = 0, RH = 18, matchRe = null;
  function matches(k) { return matchRe && k > 0 && matchRe.test(D.labels[label[k]]); }
  function drawFlame() {
    var W = flame.clientWidth || 1200, frag = document.createDocumentFragment(), depth = 0;
    var chain = [];
    for (var a = focus; a > 0; a = parent[a]) chain.unshift(a);
    var total = width(focus), drawn = 0, maxDepth = 0;
    function box(k, x, w, d, cls) {
      var e = document.createElement("div");
      e.className = "fg" + (cls ? " " + cls : "") + (matchRe && matches(k) ? " match" : "") +
        (diff ? (tot[0][k] > tot[2][k] ? " grew" : tot[0][k] < tot[2][k] ? " shrank" : "") : "");
      e.style.left = x + "px"; e.style.top = (d * RH) + "px"; e.style.width = Math.max(1, w) + "px";
      e.style.background = color(k);
      e.setAttribute("data-i", k);
      e.setAttribute("data-bytes", bytesOf(k));
      if (w > 28) e.textContent = D.labels[label[k]];
      frag.appendChild(e);
      drawn++;
      if (d > maxDepth) maxDepth = d;
    }
    /* the root, then the focus's ancestors, full width */
    var rootBox = document.createElement("div");
    rootBox.className = "fg"; rootBox.style.left = "0px"; rootBox.style.top = "0px";
    rootBox.style.width = W + "px"; rootBox.style.background = "hsl(220,10%,86%)";
    rootBox.setAttribute("data-i", 0);
    rootBox.textContent = "all: " + size(bytesOf(0)) + (diff ? " (old " + size(tot[2][0]) + ")" : "");
    frag.appendChild(rootBox);
    for (var i = 0; i < chain.length; i++) box(chain[i], 0, W, i + 1, i < chain.length - 1 ? "anc" : "");
    depth = chain.length;
    function walk(k, x, d) {
      var ks = kids[k], xx = x;
      for (var j = 0; j < ks.length; j++) {
        var w = total ? width(ks[j]) / total * W : 0;
        if (w < 0.6) break; /* sorted: the rest are smaller */
        box(ks[j], xx, w, d, "");
        if (d < 250) walk(ks[j], xx, d + 1);
        xx += w;
      }
    }
    walk(focus, 0, depth + 1);
    flame.textContent = "";
    flame.style.height = ((maxDepth + 1) * RH + 2) + "px";
    flame.appendChild(frag);
    flame.setAttribute("data-drawn", drawn);
    if (matchRe) {
      var m = 0;
      (function sum(k, inMatch) {
        var hit = !inMatch && matches(k);
        if (hit) m += bytesOf(k);
        for (var j = 0; j < kids[k].length; j++) sum(kids[k][j], inMatch || hit);
      })(0, false);
      found.textContent = "matched: " + size(m) + " (" + pct(m, bytesOf(0)) + " of all)";
    } else {
      found.textContent = "";
    }
  }
  flame.addEventListener("click", function (e) {
    var t = e.target.closest(".fg");
    if (!t) return;
    focus = +t.getAttribute("data-i");
    drawFlame();
  });
  reset.addEventListener("click", function () { focus = 0; drawFlame(); });
  search.addEventListener("input", function () {
    var q = search.value.trim();
    matchRe = null;
    if (q) {
      try {
        matchRe = q.length > 2 && q[0] === "/" && q[q.length - 1] === "/" ? new RegExp(q.slice(1, -1), "i")
          : new RegExp(q.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "i");
      } catch (err) { matchRe = null; }
    }
    drawFlame();
  });
  flame.addEventListener("mousemove", function (e) {
    var t = e.target.closest(".fg");
    if (!t) { tip.style.display = "none"; return; }
    var k = +t.getAttribute("data-i");
    tip.textContent = "";
    tip.appendChild(el("b", {text: k ? D.labels[label[k]] : "all"}));
    var lines;
    if (diff) {
      lines = ["new " + size(tot[0][k]) + " (" + num(tot[1][k]) + " blocks), old " + size(tot[2][k]) +
               " (" + num(tot[3][k]) + " blocks)", "change " + size(tot[0][k] - tot[2][k], true) +
               ", " + (tot[1][k] - tot[3][k] >= 0 ? "+" : "") + num(tot[1][k] - tot[3][k]) + " blocks"];
    } else {
      lines = [size(bytesOf(k)) + " (" + num(bytesOf(k)) + " B) in " + num(blocksOf(k)) + " blocks",
               pct(bytesOf(k), bytesOf(0)) + " of all" + (focus ? ", " + pct(bytesOf(k), bytesOf(focus)) + " of the zoomed frame" : ""),
               "self: " + size(self[2 * view][k])];
    }
    for (var i = 0; i < lines.length; i++) tip.appendChild(el("div", {text: lines[i]}));
    tip.style.display = "block";
    var x = e.clientX + 14, y = e.clientY + 14;
    if (x + 420 > window.innerWidth) x = Math.max(0, e.clientX - 430);
    tip.style.left = x + "px"; tip.style.top = y + "px";
  });
  flame.addEventListener("mouseleave", function () { tip.style.display = "none"; });

  /* ---- timeline ---- */
  function drawTimeline() {
    var sec = el("section", {id: "timeline"});
    sec.appendChild(el("h2", {text: "Live memory over time"}));
    var T = D.timeline;
    if (!T || !T.samples.length) {
      sec.appendChild(el("div", {cls: "empty", text: "No timeline in this snapshot."}));
      return sec;
    }
    var s = T.samples, W = 1000, H = 220, L = 70, B = 24, tmax = s[s.length - 1].t || 1, ymax = 1, imax = 0;
    for (var i = 0; i < s.length; i++) if (s[i].live_bytes > ymax) { ymax = s[i].live_bytes; imax = i; }
    var NS = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", "0 0 " + (W + L + 20) + " " + (H + B + 10));
    svg.setAttribute("width", "100%");
    function sv(tag, a) { var e = document.createElementNS(NS, tag); for (var k in a) e.setAttribute(k, a[k]); svg.appendChild(e); return e; }
    function X(t) { return L + t / tmax * W; }
    function Y(v) { return 10 + H - v / ymax * H; }
    for (var g = 0; g <= 4; g++) {
      var v = ymax * g / 4;
      sv("line", {x1: L, x2: L + W, y1: Y(v), y2: Y(v), stroke: "#e5e7eb"});
      sv("text", {x: L - 6, y: Y(v) + 4, "text-anchor": "end"}).textContent = size(v);
      var tt = tmax * g / 4;
      sv("text", {x: X(tt), y: H + B + 4, "text-anchor": "middle"}).textContent = tt.toFixed(2) + "s";
    }
    var pts = "M" + X(s[0].t) + "," + Y(0);
    for (i = 0; i < s.length; i++) pts += " L" + X(s[i].t).toFixed(1) + "," + Y(s[i].live_bytes).toFixed(1);
    pts += " L" + X(s[s.length - 1].t) + "," + Y(0) + " Z";
    sv("path", {d: pts, fill: "rgba(180,83,9,0.18)", stroke: "#b45309", "stroke-width": 1.5});
    var px = X(s[imax].t), py = Y(s[imax].live_bytes);
    sv("circle", {cx: px, cy: py, r: 4.5, fill: "#d7301f", id: "peak-marker"});
    var lab = sv("text", {x: Math.min(px + 8, L + W - 150), y: Math.max(py - 6, 12), id: "peak-label"});
    lab.textContent = "peak " + size(s[imax].live_bytes) + " at " + s[imax].t.toFixed(3) + "s";
    lab.setAttribute("style", "fill:#d7301f;font-weight:600");
    if (M.has_peak && !diff) {
      var cx = X(Math.min(M.peak_copy_t, tmax));
      sv("line", {x1: cx, x2: cx, y1: 10, y2: 10 + H, stroke: "#7c3aed", "stroke-dasharray": "4 3"});
    }
    sec.appendChild(svg);
    var top = s[imax].top && s[imax].top[0];
    sec.appendChild(el("div", {cls: "muted", text: s.length + " samples" + (top ? "; at the peak the biggest site was " +
      top.filename + ":" + top.lineno + " (" + size(top.bytes) + ")" : "") +
      (M.has_peak && !diff ? "; dashed line: the peak copy shown by the peak view" : "")}));
    return sec;
  }

  /* ---- top lines ---- */
  var tableSec = el("section", {id: "top-lines"});
  function drawTable() {
    tableSec.textContent = "";
    var st = view === 1 && D.stats_peak ? D.stats_peak : D.stats;
    var h = el("h2", {text: diff ? "Top lines: difference" : "Top lines" + (view === 1 ? " at the peak" : "")});
    h.appendChild(el("small", {text: "as heapshape stats" + (diff ? " / diff" : "") + " prints them" +
      (st.statistics.length < (view === 1 ? D.stats_peak_rows : D.stats_rows) ? "; first " + st.statistics.length : "")}));
    tableSec.appendChild(h);
    var head = diff ? ["line", "function", "size", "change", "count", "change"] : ["line", "function", "size", "share", "count", "average"];
    var thead = el("tr");
    for (var i = 0; i < head.length; i++) thead.appendChild(el("th", {text: head[i], cls: i > 1 ? "num" : ""}));
    var tbody = el("tbody");
    var totalSize = st.total_size || 1;
    for (i = 0; i < st.statistics.length; i++) {
      var r = st.statistics[i], tr = el("tr", {"data-file": r.filename, "data-line": r.lineno, "data-bytes": r.size});
      tr.appendChild(el("td", {cls: "loc", text: r.filename + ":" + r.lineno}));
      tr.appendChild(el("td", {text: funcOf[r.filename + ":" + r.lineno] || ""}));
      tr.appendChild(el("td", {cls: "num size", text: size(r.size)}));
      if (diff) {
        tr.appendChild(el("td", {cls: "num " + (r.size_diff > 0 ? "grow" : r.size_diff < 0 ? "shrink" : ""), text: size(r.size_diff, true)}));
        tr.appendChild(el("td", {cls: "num", text: num(r.count)}));
        tr.appendChild(el("td", {cls: "num " + (r.count_diff > 0 ? "grow" : r.count_diff < 0 ? "shrink" : ""), text: (r.count_diff > 0 ? "+" : "") + num(r.count_diff)}));
      } else {
        tr.appendChild(el("td", {cls: "num", text: pct(r.size, totalSize)}));
        tr.appendChild(el("td", {cls: "num", text: num(r.count)}));
        tr.appendChild(el("td", {cls: "num", text: size(r.count ? Math.floor(r.size / r.count) : 0)}));
      }
      tbody.appendChild(tr);
    }
    tableSec.appendChild(el("div", {cls: "scroll"}, [el("table", null, [el("thead", null, [thead]), tbody])]));
  }
  /* the function of each table line, from the frame labels "function (file:line)" */
  var funcOf = {};
  [D.stats, D.stats_peak].forEach(function (st) {
    if (st) for (var i = 0; i < st.statistics.length; i++) funcOf[st.statistics[i].filename + ":" + st.statistics[i].lineno] = "";
  });
  for (var li = 0; li < D.labels.length; li++) {
    if (D.kinds.charCodeAt(li) !== 112 /* p */) continue;
    var lab = D.labels[li], open = lab.lastIndexOf(" ("), key = lab.slice(open + 2, -1);
    if (open > 0 && funcOf[key] === "") funcOf[key] = lab.slice(0, open);
  }
  D.stats_rows = D.stats.stats_rows;
  if (D.stats_peak) D.stats_peak_rows = D.stats_peak.stats_rows;

  /* ---- anatomy ---- */
  function drawAnatomy() {
    var sec = el("section", {id: "anatomy"});
    var h = el("h2", {text: "What the biggest sites are made of"});
    sec.appendChild(h);
    var A = D.anatomy;
    if (!A) {
      sec.appendChild(el("div", {cls: "empty", text: "No object anatomy in this snapshot."}));
      return sec;
    }
    h.appendChild(el("small", {text: "per (line, type), at the snapshot" + (diff ? " (new)" : "") + "; headers & pointers are " + pct(A.overhead_share, 1) + " of typed bytes"}));
    var lg = el("div", {cls: "legend"});
    var segs = [["header", "object headers (GC, refcount, type, size)"], ["pointers", "pointers, tables & other fields"], ["data", "data (the values)"], ["rounding", "allocator rounding"]];
    for (var i = 0; i < segs.length; i++) lg.appendChild(el("span", null, [el("i", {cls: "seg-" + segs[i][0]}), document.createTextNode(segs[i][1])]));
    sec.appendChild(lg);
    var thead = el("tr", null, [el("th", {text: "line", style: "width:24%"}), el("th", {text: "type"}), el("th", {cls: "num", text: "objects"}),
      el("th", {cls: "num", text: "bytes"}), el("th", {text: "split", style: "width:32%"}), el("th", {text: "shapes (sampled)"})]);
    var tbody = el("tbody");
    var big = 1;
    for (i = 0; i < A.rows.length; i++) big = Math.max(big, A.rows[i].total_bytes + A.rows[i].rounding);
    for (i = 0; i < A.rows.length; i++) {
      var r = A.rows[i];
      var headers = r.gc_header + r.preheader + r.object_header + r.owned_header;
      var pointers = Math.max(0, r.overhead - headers);
      var parts = [["header", headers], ["pointers", pointers], ["data", r.data], ["rounding", r.rounding]];
      var all = r.total_bytes + r.rounding || 1;
      var bar = el("div", {cls: "bar", style: "width:" + Math.max(2, 100 * all / big).toFixed(1) + "%"});
      var title = [];
      for (var p = 0; p < parts.length; p++) {
        if (!parts[p][1]) continue;
        bar.appendChild(el("div", {cls: "seg-" + parts[p][0], style: "width:" + (100 * parts[p][1] / all).toFixed(2) + "%", "data-bytes": parts[p][1]}));
        title.push(parts[p][0] + " " + size(parts[p][1]) + " (" + pct(parts[p][1], all) + ")");
      }
      bar.setAttribute("title", title.join(", "));
      var shapes = el("div");
      for (var q = 0; q < r.shapes.length; q++)
        shapes.appendChild(el("div", {cls: "shape", text: r.shapes[q].text + "  " + r.shapes[q].count + "/" + r.shapes[q].samples}));
      tbody.appendChild(el("tr", {"data-file": r.filename, "data-line": r.lineno}, [
        el("td", {cls: "loc", text: r.filename + ":" + r.lineno}), el("td", {text: r.type}),
        el("td", {cls: "num", text: num(r.objects)}), el("td", {cls: "num", text: size(r.total_bytes)}),
        el("td", null, [bar, el("div", {cls: "muted", style: "font-size:11px", text: title.join(" \u00b7 ")})]), el("td", null, [shapes])]));
    }
    sec.appendChild(el("div", {cls: "scroll"}, [el("table", null, [el("thead", null, [thead]), tbody])]));
    return sec;
  }

  /* ---- advice ---- */
  function drawAdvice() {
    var sec = el("section", {id: "advice"});
    sec.appendChild(el("h2", {text: "Layout advice"}));
    var R = D.advice && D.advice.recommendations;
    if (!R || !R.length) {
      sec.appendChild(el("div", {cls: "empty", text: D.anatomy ? "No site has enough records to be worth a layout change." :
        "No advice: the snapshot has no object anatomy."}));
      return sec;
    }
    var groups = [], byKey = {};
    for (var i = 0; i < R.length; i++) {
      var key = R[i].filename + ":" + R[i].lineno + ":" + R[i].type + ":" + R[i].snapshot;
      if (!byKey[key]) { byKey[key] = []; groups.push(byKey[key]); }
      byKey[key].push(R[i]);
    }
    for (i = 0; i < groups.length; i++) {
      var g = groups[i], a = g[0];
      var box = el("div", {cls: "advice", "data-file": a.filename, "data-line": a.lineno});
      box.appendChild(el("h3", {text: a.filename + ":" + a.lineno + " (" + a.function + ")"}));
      box.appendChild(el("div", {text: num(a.objects) + " " + a.record + " records, shape " + a.shape + "; now " + size(a.current_bytes) +
        ", headers & pointers " + pct(a.overhead_share, 1)}));
      var tbody = el("tbody");
      for (var j = 0; j < g.length; j++)
        tbody.appendChild(el("tr", null, [el("td", {text: String(g[j].rank)}), el("td", {text: g[j].kind}),
          el("td", {cls: "num", text: size(g[j].estimated_bytes)}), el("td", {cls: "num", text: g[j].ratio.toFixed(1) + "x smaller"}),
          el("td", {text: g[j].detail})]));
      box.appendChild(el("table", null, [el("thead", null, [el("tr", null, [el("th", {text: "#"}), el("th", {text: "layout"}),
        el("th", {cls: "num", text: "estimated"}), el("th", {cls: "num", text: "ratio"}), el("th", {text: "how"})])]), tbody]));
      box.appendChild(el("div", {cls: "muted", style: "margin-top:6px", text: "Rewrite (" + a.kind + "):"}));
      box.appendChild(el("pre", {cls: "code", text: a.code}));
      sec.appendChild(box);
    }
    return sec;
  }

  if (toggle) {
    toggle.addEventListener("click", function (e) {
      var b = e.target.closest("button");
      if (!b) return;
      view = +b.getAttribute("data-view");
      var bs = toggle.querySelectorAll("button");
      for (var i = 0; i < bs.length; i++) bs[i].className = +bs[i].getAttribute("data-view") === view ? "on" : "";
      document.documentElement.setAttribute("data-view", D.views[view]);
      for (k = 0; k < NN; k++) kids[k].sort(function (a, b) { return width(b) - width(a); });
      drawFlame();
      drawTable();
    });
  }
  /* links into the page: #view=peak, #search=TEXT */
  var hashArgs = {};
  location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
    var i = kv.indexOf("=");
    if (i > 0) hashArgs[kv.slice(0, i)] = decodeURIComponent(kv.slice(i + 1));
  });
  if (toggle && hashArgs.view === D.views[1]) {
    view = 1;
    var bs0 = toggle.querySelectorAll("button");
    bs0[0].className = ""; bs0[1].className = "on";
    for (k = 0; k < NN; k++) kids[k].sort(function (a, b) { return width(b) - width(a); });
  }
  if (hashArgs.search) {
    search.value = hashArgs.search;
    try { matchRe = new RegExp(hashArgs.search.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "i"); } catch (err) { matchRe = null; }
  }
  document.documentElement.setAttribute("data-view", D.views[view]);
  main.appendChild(drawTimeline());
  main.appendChild(tableSec);
  drawTable();
  main.appendChild(drawAnatomy());
  main.appendChild(drawAdvice());
  drawFlame();
  window.addEventListener("resize", function () { drawFlame(); });
  var tEnd = performance.now();
  document.documentElement.setAttribute("data-render-ms", (tEnd - t0).toFixed(1));
  document.documentElement.setAttribute("data-tree-ms", (tTree - t0).toFixed(1));
  /* from the start of navigation to the page drawn: what "opens in" means */
  document.documentElement.setAttribute("data-ready-ms", tEnd.toFixed(1));
  document.documentElement.setAttribute("data-ready", "1");
})();
