(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("data").textContent);
  var PAGE = 50;
  var SEV = { E: "E 错误", W: "W 警告", I: "I 提示" };

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function fill(select, values) {
    values.forEach(function (v, i) {
      var o = el("option", v);
      o.value = String(i);
      select.appendChild(o);
    });
  }

  function setup(cfg) {
    var box = document.querySelector('.filters[data-table="' + cfg.id + '"]');
    var pager = document.querySelector('.pager[data-table="' + cfg.id + '"]');
    var table = document.getElementById(cfg.table);
    if (!box || !pager || !table) return;
    var tbody = table.tBodies[0];
    var selects = Array.prototype.slice.call(box.querySelectorAll("select"));
    var search = box.querySelector("input");
    var count = document.getElementById(cfg.count);
    selects.forEach(function (s) {
      var col = Number(s.getAttribute("data-col"));
      if (cfg.lists[col]) fill(s, cfg.lists[col]);
      else if (cfg.distinct && cfg.distinct.indexOf(col) >= 0) {
        var seen = {};
        cfg.rows.forEach(function (r) { seen[r[col]] = true; });
        Object.keys(seen).sort().forEach(function (v) {
          var o = el("option", v);
          o.value = v;
          s.appendChild(o);
        });
      }
    });
    var page = 0, view = cfg.rows;

    function apply() {
      var conds = selects
        .map(function (s) { return [Number(s.getAttribute("data-col")), s.value]; })
        .filter(function (c) { return c[1] !== ""; });
      var q = (search.value || "").trim().toLowerCase();
      view = cfg.rows.filter(function (r) {
        for (var i = 0; i < conds.length; i++) {
          if (String(r[conds[i][0]]) !== conds[i][1]) return false;
        }
        if (q) return cfg.text(r).toLowerCase().indexOf(q) >= 0;
        return true;
      });
      page = 0;
      render();
    }

    function render() {
      var pages = Math.max(1, Math.ceil(view.length / PAGE));
      if (page >= pages) page = pages - 1;
      var frag = document.createDocumentFragment();
      view.slice(page * PAGE, page * PAGE + PAGE).forEach(function (r) {
        frag.appendChild(cfg.row(r));
      });
      tbody.textContent = "";
      tbody.appendChild(frag);
      var a = view.length ? page * PAGE + 1 : 0;
      var b = Math.min(view.length, (page + 1) * PAGE);
      count.textContent = "显示 shown " + a + "–" + b + " / " + view.length +
        (view.length !== cfg.rows.length ? " (筛选自 filtered from " + cfg.rows.length + ")" : "");
      pager.textContent = "";
      var prev = el("button", "‹ 上一页 prev"), next = el("button", "下一页 next ›");
      prev.disabled = page === 0;
      next.disabled = page >= pages - 1;
      prev.onclick = function () { page--; render(); };
      next.onclick = function () { page++; render(); };
      pager.appendChild(prev);
      pager.appendChild(el("span", "第 " + (page + 1) + " / " + pages + " 页 page"));
      pager.appendChild(next);
    }

    selects.forEach(function (s) { s.addEventListener("change", apply); });
    var t = null;
    search.addEventListener("input", function () {
      clearTimeout(t);
      t = setTimeout(apply, 200);
    });
    render();
  }

  function td(tr, text, cls) { var c = el("td", text, cls); tr.appendChild(c); return c; }

  setup({
    id: "f", table: "ftable", count: "fcount", rows: D.findings,
    lists: { 0: D.rules, 3: D.layers, 12: D.districts },
    text: function (r) { return [D.rules[r[0]] + "-" + r[1], r[4], r[5], r[10], r[11]].join(" "); },
    row: function (r) {
      var tr = el("tr");
      td(tr, D.rules[r[0]] + "-" + r[1]);
      var s = td(tr, ""); s.appendChild(el("span", SEV[r[2]] || r[2], "sev " + r[2]));
      td(tr, D.layers[r[3]]);
      td(tr, r[4]);
      td(tr, r[5]);
      td(tr, r[6] === null ? "" : r[6].toFixed(3), "r");
      td(tr, r[7] === null ? "" : r[7].toFixed(3), "r");
      td(tr, r[8], "r");
      td(tr, r[9], "r");
      var m = td(tr, r[10]);
      if (r[11]) { m.appendChild(el("br")); m.appendChild(el("span", r[11], "en")); }
      var c = td(tr, "");
      if (r[13] >= 0) { var a = el("a", "图 map"); a.href = "#m" + r[13]; c.appendChild(a); }
      return tr;
    }
  });

  if (D.conflicts.length) {
    setup({
      id: "c", table: "ctable", count: "ccount", rows: D.conflicts, lists: {}, distinct: [1],
      text: function (r) { return r.join(" "); },
      row: function (r) {
        var tr = el("tr");
        r.forEach(function (v) { td(tr, v); });
        return tr;
      }
    });
  }
})();
