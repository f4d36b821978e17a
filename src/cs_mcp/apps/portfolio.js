// The portfolio view: draws churn-risk-list, renewal-forecast and retention-metrics results.
// It runs inside an MCP Apps host (JSON-RPC over postMessage with the parent window) or as a standalone
// report whose results are embedded in the page (<script id="cs-data">). No network, no libraries.
(function () {
  "use strict";

  var SVG_NS = "http://www.w3.org/2000/svg";
  var KINDS = ["churn", "renewal", "retention"];
  var APP_INFO = { name: "customer-success-mcp portfolio", version: "1" };
  var PROTOCOL_VERSION = "2026-01-26";
  var results = {};
  var fallbacks = [];
  var meta = {};

  // ---- numbers, formatted exactly as the server's text answers (cs_mcp.domain.formatting)

  // Python's format() rounds exact ties to even; toFixed rounds them away from zero.
  function fixed(x, digits) {
    var rounded = x.toFixed(digits);
    var exact = Math.abs(x).toFixed(digits + 25);
    var dot = exact.indexOf(".");
    var cut = digits ? dot + 1 + digits : dot;
    if (!/^50*$/.test(exact.slice(dot + 1 + digits))) return rounded;
    var truncated = exact.slice(0, cut);
    var last = truncated.charAt(truncated.length - 1);
    if (parseInt(last, 10) % 2 === 0) return (x < 0 ? "-" : "") + truncated;
    return rounded;
  }

  function grouped(text) {
    var neg = text.charAt(0) === "-";
    var digits = neg ? text.slice(1) : text;
    return (neg ? "-" : "") + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }

  function money(v) {
    if (v === null || v === undefined || isNaN(v)) return "n/a";
    var a = Math.abs(v);
    if (a >= 1000000) return "$" + fixed(v / 1000000, 2) + "M";
    if (a >= 100000) return "$" + fixed(v / 1000, 0) + "K";
    if (a >= 10000) return ("$" + fixed(v / 1000, 1) + "K").replace(".0K", "K");
    return "$" + grouped(fixed(v, 0));
  }

  function pct(v) { return v === null || v === undefined ? "n/a" : fixed(v * 100, 0) + "%"; }
  function pct1(v) { return v === null || v === undefined ? "n/a" : fixed(v * 100, 1) + "%"; }
  function count(n) { return grouped(String(n)); }

  // ---- DOM helpers (text always goes in as text, never as markup)

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    setAttrs(node, attrs);
    (children || []).forEach(function (c) {
      if (c === null || c === undefined) return;
      node.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
    });
    return node;
  }

  function svgEl(tag, attrs, text) {
    var node = document.createElementNS(SVG_NS, tag);
    setAttrs(node, attrs);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function setAttrs(node, attrs) {
    Object.keys(attrs || {}).forEach(function (k) {
      if (attrs[k] === null || attrs[k] === undefined) return;
      if (k === "text") node.textContent = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
  }

  function kpi(id, label, value, detail) {
    return el("div", { "class": "kpi", "data-kpi": id }, [
      el("div", { "class": "label" }, [label]),
      el("div", { "class": "value" }, [value]),
      detail ? el("div", { "class": "detail" }, [detail]) : null
    ]);
  }

  function panel(title, content) {
    return el("div", { "class": "panel" }, [el("h3", {}, [title]), content]);
  }

  // ---- charts

  // Horizontal bars: one row per item {key, label, value, text, cls}; widths relative to the largest value.
  function barRows(items, attr) {
    var rowH = 24, labelW = 110, textW = 150, width = 520;
    var barW = width - labelW - textW - 8;
    var max = Math.max.apply(null, items.map(function (i) { return i.value; }).concat([0]));
    var svg = svgEl("svg", { viewBox: "0 0 " + width + " " + (items.length * rowH), role: "img" });
    items.forEach(function (item, n) {
      var y = n * rowH;
      var w = max > 0 ? Math.max(item.value > 0 ? 2 : 0, barW * item.value / max) : 0;
      var g = svgEl("g", {});
      g.setAttribute(attr, item.key);
      g.appendChild(svgEl("text", { x: 0, y: y + 16 }, item.label));
      g.appendChild(svgEl("rect", { "class": "track", x: labelW, y: y + 4, width: barW, height: 15, rx: 3 }));
      var bar = svgEl("rect", { x: labelW, y: y + 4, width: w.toFixed(1), height: 15, rx: 3 });
      bar.style.fill = item.color;
      g.appendChild(bar);
      g.appendChild(svgEl("text", { "class": "value", x: labelW + barW + 8, y: y + 16 }, item.text));
      svg.appendChild(g);
    });
    return svg;
  }

  // A bullet chart per metric: the value as a bar, the target as a tick; green when met, red when not.
  function bullets(rows) {
    var rowH = 34, labelW = 120, textW = 215, width = 600;
    var barW = width - labelW - textW - 8;
    var svg = svgEl("svg", { viewBox: "0 0 " + width + " " + (rows.length * rowH), role: "img" });
    rows.forEach(function (r, n) {
      var y = n * rowH, m = r.metric;
      var top = Math.max(r.scale, m.value || 0, m.target || 0) * 1.08;
      var g = svgEl("g", { "data-metric": r.key });
      g.appendChild(svgEl("text", { x: 0, y: y + 18 }, r.label));
      g.appendChild(svgEl("rect", { "class": "track", x: labelW, y: y + 7, width: barW, height: 16, rx: 3 }));
      if (m.value !== null && m.value !== undefined) {
        var cls = m.met === true ? "met" : m.met === false ? "missed" : "neutral";
        g.appendChild(svgEl("rect", {
          "class": cls, x: labelW, y: y + 10, width: (barW * Math.max(0, m.value) / top).toFixed(1), height: 10, rx: 2
        }));
      }
      if (m.target !== null && m.target !== undefined) {
        var tx = (labelW + barW * m.target / top).toFixed(1);
        g.appendChild(svgEl("line", { "class": "target", x1: tx, x2: tx, y1: y + 4, y2: y + 26 }));
      }
      g.appendChild(svgEl("text", { "class": "value", x: labelW + barW + 8, y: y + 14 }, r.format(m.value)));
      g.appendChild(svgEl("text", { "class": "soft", x: labelW + barW + 8, y: y + 28 }, targetText(m, r.points)));
      svg.appendChild(g);
    });
    return svg;
  }

  function targetText(m, points) {
    if (m.target === null || m.target === undefined) return "no target";
    var f = points ? function (v) { return v.toFixed(1); } : pct1;
    if (m.value === null || m.value === undefined) return "target " + f(m.target);
    if (m.met) return "target " + f(m.target) + ": met";
    var gap = points ? fixed(Math.abs(m.gap), 1) : fixed(Math.abs(m.gap) * 100, 1) + " pts";
    return "target " + f(m.target) + ": below by " + gap;
  }

  // An ARR waterfall: totals stand on the axis, changes float from the running level.
  function waterfall(steps) {
    var width = 560, height = 210, top = 22, bottom = 40, left = 8;
    var slot = (width - left) / steps.length, barW = Math.min(70, slot * 0.62);
    var level = 0, peak = 0;
    var bars = steps.map(function (s) {
      var from, to;
      if (s.total) { from = 0; to = s.value; level = s.value; }
      else { from = level; to = level + s.value; level = to; }
      peak = Math.max(peak, from, to);
      return { step: s, from: from, to: to };
    });
    var plotH = height - top - bottom;
    var y = function (v) { return top + plotH - (peak > 0 ? plotH * v / peak : 0); };
    var svg = svgEl("svg", { viewBox: "0 0 " + width + " " + height, role: "img" });
    svg.appendChild(svgEl("line", { "class": "axis", x1: 0, x2: width, y1: y(0), y2: y(0) }));
    bars.forEach(function (b, n) {
      var x = left + n * slot + (slot - barW) / 2;
      var hi = Math.max(b.from, b.to), lo = Math.min(b.from, b.to);
      var cls = b.step.total ? "total" : b.step.minus ? "down" : "up";
      var g = svgEl("g", { "data-step": b.step.key });
      g.appendChild(svgEl("rect", {
        "class": cls, x: x.toFixed(1), y: y(hi).toFixed(1), width: barW.toFixed(1),
        height: Math.max(hi > lo ? 1 : 0, y(lo) - y(hi)).toFixed(1), rx: 2
      }));
      var sign = b.step.total ? "" : b.step.minus ? "\u2212" : "+";
      g.appendChild(svgEl("text", {
        "class": "value", x: (x + barW / 2).toFixed(1), y: (y(hi) - 6).toFixed(1), "text-anchor": "middle"
      }, sign + money(Math.abs(b.step.value))));
      g.appendChild(svgEl("text", {
        "class": "soft", x: (x + barW / 2).toFixed(1), y: height - bottom + 16, "text-anchor": "middle"
      }, b.step.label));
      svg.appendChild(g);
      if (n + 1 < bars.length) {
        var x2 = left + (n + 1) * slot + (slot - barW) / 2;
        svg.appendChild(svgEl("line", {
          "class": "link", x1: (x + barW).toFixed(1), x2: x2.toFixed(1), y1: y(b.to).toFixed(1), y2: y(b.to).toFixed(1)
        }));
      }
    });
    return svg;
  }

  // ---- the three views

  var BAND_COLORS = { green: "var(--band-green)", yellow: "var(--band-yellow)", red: "var(--band-red)",
                      unknown: "var(--band-unknown)" };
  var TIER_COLORS = { critical: "var(--tier-critical)", high: "var(--tier-high)", medium: "var(--tier-medium)",
                      low: "var(--tier-low)" };
  var CATEGORY_LABELS = { high_confidence: "high confidence", likely: "likely", at_risk: "at risk",
                          high_risk: "high risk" };

  function filtersText(filters) {
    var keys = Object.keys(filters || {});
    return keys.length ? " \u00b7 " + keys.map(function (k) { return k + " " + filters[k]; }).join(", ") : "";
  }

  function healthBands(sc) {
    var bands = sc.health_bands;
    if (!bands) {  // an older server: count the page's accounts
      var seen = {};
      (sc.accounts || []).forEach(function (a) {
        seen[a.health_band] = seen[a.health_band] || { band: a.health_band, accounts: 0, arr: 0 };
        seen[a.health_band].accounts += 1;
        seen[a.health_band].arr += a.arr || 0;
      });
      bands = Object.keys(seen).map(function (k) { return seen[k]; });
    }
    return bands.filter(function (b) { return b.band !== "unknown" || b.accounts > 0; }).map(function (b) {
      return { key: b.band, label: b.band, value: b.accounts, color: BAND_COLORS[b.band] || BAND_COLORS.unknown,
               text: count(b.accounts) + " \u00b7 " + money(b.arr) };
    });
  }

  function churnView(sc) {
    var method = sc.method === "model"
      ? "ranked by a model learned from this workspace" + (sc.model && sc.model.cv_roc_auc
        ? " (CV ROC-AUC " + sc.model.cv_roc_auc.toFixed(2) + ")" : "")
      : "ranked by the leading-indicator score";
    var tiers = (sc.totals_by_tier || []).map(function (t) {
      return { key: t.tier, label: t.tier, value: t.accounts, color: TIER_COLORS[t.tier],
               text: count(t.accounts) + " \u00b7 " + money(t.arr_at_risk) + " at risk" };
    });
    var rows = (sc.accounts || []).map(function (a) {
      var drivers = el("ul", {}, (a.drivers || []).map(function (d) {
        return el("li", {}, [(d.direction === "lowers risk" ? "(+) " : "") + d.text + (d.change ? " (" + d.change + ")" : "")]);
      }));
      return el("tr", { "data-account": a.account_id }, [
        el("td", { "class": "num" }, [String(a.rank)]),
        el("td", {}, [el("strong", {}, [a.name]), a.account_id !== a.name ? el("div", { "class": "note" }, [a.account_id]) : null]),
        el("td", { "class": "num", "data-field": "probability" }, [pct(a.probability)]),
        el("td", {}, [el("span", { "class": "chip " + a.tier }, [a.tier])]),
        el("td", { "class": "num", "data-field": "arr-at-risk" }, [money(a.arr_at_risk)]),
        el("td", { "class": "num" }, [a.days_to_renewal === null || a.days_to_renewal === undefined ? "n/a" : a.days_to_renewal + "d"]),
        el("td", { "class": "num" }, [a.health_score === null || a.health_score === undefined ? "n/a" : a.health_score.toFixed(0),
          " ", el("span", { "class": "chip " + a.health_band }, [a.health_band])]),
        el("td", {}, [drivers, el("div", { "class": "action" }, [a.recommended_action])])
      ]);
    });
    return el("section", { "class": "view", "data-view": "churn" }, [
      el("h2", {}, ["Churn risk"]),
      el("p", { "class": "sub" }, ["As of " + sc.as_of + " \u00b7 " + count(sc.total) + " active accounts, " + method + filtersText(sc.filters)]),
      el("div", { "class": "kpis" }, [
        kpi("accounts", "Accounts", count(sc.total)),
        kpi("arr-at-risk", "ARR at risk", money(sc.total_arr_at_risk), "of " + money(sc.total_arr)),
        kpi("at-risk-renewals", "At-risk renewals", count(sc.at_risk_renewals), money(sc.at_risk_renewal_arr) + " ARR")
      ]),
      el("div", { "class": "grid" }, [
        panel("Health bands", barRows(healthBands(sc), "data-band")),
        panel("Risk tiers", barRows(tiers, "data-tier"))
      ]),
      panel("Highest risk" + (sc.returned < sc.total ? " (" + sc.returned + " of " + count(sc.total) + ")" : ""),
        el("div", { "class": "table-wrap" }, [el("table", { "data-table": "risk" }, [
          el("thead", {}, [el("tr", {}, ["#", "Account", "Risk", "Tier", "ARR at risk", "Renews in", "Health", "Why, and what to do"]
            .map(function (h, i) { return el("th", { "class": [0, 2, 4, 5, 6].indexOf(i) >= 0 ? "num" : null }, [h]); }))]),
          el("tbody", {}, rows)
        ])])),
      sc.note ? el("p", { "class": "note" }, [sc.note]) : null
    ]);
  }

  function metricRows(metrics, keys) {
    var labels = { grr: "GRR", nrr: "NRR", logo_retention: "Logo retention", expansion_rate: "Expansion rate",
                   green_accounts_share: "Green accounts", green_arr_share: "Green ARR", average_health: "Average health" };
    return keys.filter(function (k) { return metrics && metrics[k]; }).map(function (k) {
      var points = k === "average_health";
      return { key: k, label: labels[k], metric: metrics[k], points: points, scale: points ? 100 : 1,
               format: points ? function (v) { return v === null || v === undefined ? "n/a" : v.toFixed(1); } : pct1 };
    });
  }

  function renewalView(sc) {
    var w = sc.window, s = sc.scenarios, wf = sc.waterfall;
    var scenarioRows = ["best", "base", "worst"].map(function (k) {
      return { key: k, label: k, value: s[k], color: k === "worst" ? "var(--band-red)" : k === "best" ? "var(--band-green)" : "#5b7db1",
               text: money(s[k]) };
    });
    var categories = (sc.by_category || []).map(function (b) {
      var colors = { high_confidence: "var(--band-green)", likely: "#5b7db1", at_risk: "var(--band-yellow)", high_risk: "var(--band-red)" };
      return { key: b.name, label: CATEGORY_LABELS[b.name] || b.name, value: b.arr, color: colors[b.name],
               text: count(b.accounts) + " \u00b7 " + money(b.arr) };
    });
    var rows = (sc.accounts || []).map(function (r) {
      return el("tr", { "data-account": r.account_id }, [
        el("td", {}, [r.renewal_date]),
        el("td", {}, [el("strong", {}, [r.name]), el("div", { "class": "note" }, [r.account_id])]),
        el("td", { "class": "num" }, [money(r.arr)]),
        el("td", { "class": "num", "data-field": "probability" }, [r.probability + "%"]),
        el("td", {}, [CATEGORY_LABELS[r.category] || r.category]),
        el("td", {}, [r.expected_outcome]),
        el("td", {}, [r.timeline ? r.timeline.stage : ""]),
        el("td", { "class": "num" }, [r.health_score === null || r.health_score === undefined ? "n/a" : r.health_score.toFixed(0)])
      ]);
    });
    var body = [
      el("h2", {}, ["Renewals"]),
      el("p", { "class": "sub" }, [w.start + " to " + w.end + " (" + w.label + ") \u00b7 as of " + sc.as_of + filtersText(sc.filters)]),
      el("div", { "class": "kpis" }, [
        kpi("renewals", "Renewals", count(sc.renewals), money(sc.arr_up_for_renewal) + " ARR up for renewal"),
        kpi("forecast-base", "Forecast ARR (base)", money(s.base), "best " + money(s.best) + " \u00b7 worst " + money(s.worst)),
        kpi("at-risk-renewals", "At-risk renewals", count(sc.at_risk_renewals), money(sc.at_risk_arr) + " ARR")
      ])
    ];
    if (!sc.renewals) {
      body.push(el("p", { "class": "empty" }, [sc.note || "No renewals in this window."]));
      return el("section", { "class": "view", "data-view": "renewal" }, body);
    }
    body.push(el("div", { "class": "grid" }, [
      panel("Renewal waterfall", waterfall([
        { key: "start", label: "up for renewal", value: wf.start_arr, total: true },
        { key: "churn", label: "churn", value: -wf.churned_arr, minus: true },
        { key: "contraction", label: "contraction", value: -wf.contraction_arr, minus: true },
        { key: "expansion", label: "expansion", value: wf.expansion_arr },
        { key: "end", label: "forecast", value: wf.end_arr, total: true }
      ])),
      panel("Scenarios", barRows(scenarioRows, "data-scenario"))
    ]));
    body.push(el("div", { "class": "grid" }, [
      panel("Forecast against targets", bullets(metricRows(sc.metrics, ["grr", "nrr", "logo_retention"]))),
      panel("Forecast categories", barRows(categories, "data-category"))
    ]));
    body.push(panel("Renewals" + (sc.returned < sc.total ? " (" + sc.returned + " of " + count(sc.total) + ")" : ""),
      el("div", { "class": "table-wrap" }, [el("table", { "data-table": "renewals" }, [
        el("thead", {}, [el("tr", {}, ["Renews", "Account", "ARR", "Renewal p", "Category", "Outcome", "Stage", "Health"]
          .map(function (h, i) { return el("th", { "class": [2, 3, 7].indexOf(i) >= 0 ? "num" : null }, [h]); }))]),
        el("tbody", {}, rows)
      ])])));
    if (sc.note) body.push(el("p", { "class": "note" }, [sc.note]));
    return el("section", { "class": "view", "data-view": "renewal" }, body);
  }

  function retentionView(sc) {
    var p = sc.period, wf = sc.waterfall, c = sc.counts;
    var body = [
      el("h2", {}, ["Retention"]),
      el("p", { "class": "sub" }, [p.start + " to " + p.end + " (" + p.label + ") \u00b7 from " + sc.source + " \u00b7 as of " + sc.as_of]),
      el("div", { "class": "kpis" }, [
        kpi("grr", "GRR", pct1(sc.metrics.grr && sc.metrics.grr.value)),
        kpi("nrr", "NRR", pct1(sc.metrics.nrr && sc.metrics.nrr.value)),
        kpi("customers", "Customers at start", count(c.customers_at_start), count(c.lost) + " lost \u00b7 " + count(c.new_logos) + " new logos")
      ])
    ];
    var charts = [panel("Against targets", bullets(metricRows(sc.metrics, ["grr", "nrr", "logo_retention", "expansion_rate"])))];
    if (wf) {
      charts.push(panel("ARR waterfall", waterfall([
        { key: "start", label: "start", value: wf.start_arr, total: true },
        { key: "new", label: "new logos", value: wf.new_arr || 0 },
        { key: "expansion", label: "expansion", value: wf.expansion_arr },
        { key: "contraction", label: "contraction", value: -wf.contraction_arr, minus: true },
        { key: "churn", label: "churn", value: -wf.churned_arr, minus: true },
        { key: "end", label: "end", value: wf.end_arr, total: true }
      ])));
    }
    body.push(el("div", { "class": "grid" }, charts));
    body.push(panel("Health now (" + count(sc.health_scored_accounts) + " scored active accounts)",
      bullets(metricRows(sc.metrics, ["green_accounts_share", "green_arr_share", "average_health"]))));
    if (sc.groups && sc.groups.length) {
      body.push(panel("By " + sc.groups_page.by, el("div", { "class": "table-wrap" }, [el("table", { "data-table": "groups" }, [
        el("thead", {}, [el("tr", {}, ["Group", "Start ARR", "GRR", "NRR", "Logos", "Health"]
          .map(function (h, i) { return el("th", { "class": i ? "num" : null }, [h]); }))]),
        el("tbody", {}, sc.groups.map(function (g) {
          return el("tr", { "data-group": g.key }, [
            el("td", {}, [g.key]), el("td", { "class": "num" }, [money(g.start_arr)]),
            el("td", { "class": "num" }, [pct1(g.grr)]), el("td", { "class": "num" }, [pct1(g.nrr)]),
            el("td", { "class": "num" }, [pct1(g.logo_retention)]),
            el("td", { "class": "num" }, [g.average_health === null ? "n/a" : g.average_health.toFixed(0)])
          ]);
        }))
      ])])));
    }
    (sc.not_computed || []).forEach(function (t) { body.push(el("p", { "class": "note" }, ["Not computed: " + t])); });
    if (sc.note) body.push(el("p", { "class": "note" }, [sc.note]));
    return el("section", { "class": "view", "data-view": "retention" }, body);
  }

  var VIEWS = { churn: churnView, renewal: renewalView, retention: retentionView };

  function kindOf(sc) {
    if (!sc || typeof sc !== "object") return null;
    if (sc.totals_by_tier) return "churn";
    if (sc.scenarios && sc.window) return "renewal";
    if (sc.period && sc.metrics && sc.counts) return "retention";
    return null;
  }

  function render() {
    var app = document.getElementById("app");
    app.textContent = "";
    if (meta.title) {
      app.appendChild(el("h1", {}, [meta.title]));
      if (meta.subtitle) app.appendChild(el("p", { "class": "sub" }, [meta.subtitle]));
    }
    var drawn = 0;
    KINDS.forEach(function (k) {
      if (!results[k]) return;
      try {
        app.appendChild(VIEWS[k](results[k]));
        drawn += 1;
      } catch (err) {  // a result this view does not understand: show what the model saw instead
        app.appendChild(el("pre", { "class": "fallback" }, ["Could not draw this result (" + err.message + ")."]));
      }
    });
    fallbacks.forEach(function (t) { app.appendChild(el("pre", { "class": "fallback", "data-fallback": "text" }, [t])); });
    if (!drawn && !fallbacks.length) app.appendChild(el("p", { "class": "empty" }, ["No result to show yet."]));
    document.documentElement.setAttribute("data-rendered", String(drawn));
    reportSize();
  }

  function addResult(result) {
    var sc = result && (result.structuredContent || result.structured_content);
    var kind = kindOf(sc);
    if (kind && !result.isError) {
      results[kind] = sc;
    } else {
      var text = ((result && result.content) || []).filter(function (c) { return c.type === "text"; })
        .map(function (c) { return c.text; }).join("\n");
      fallbacks = [text || "The tool returned no result this view can draw."];
    }
    render();
  }

  // ---- MCP Apps: JSON-RPC 2.0 with the host over postMessage

  var nextId = 1;
  var pending = {};
  var inHost = window.parent && window.parent !== window;
  var initialized = false;  // nothing but ui/initialize goes to the host before the handshake ends

  function post(message) { window.parent.postMessage(message, "*"); }

  function request(method, params) {
    var id = nextId++;
    post({ jsonrpc: "2.0", id: id, method: method, params: params });
    return new Promise(function (resolve, reject) { pending[id] = { resolve: resolve, reject: reject }; });
  }

  function notify(method, params) { post({ jsonrpc: "2.0", method: method, params: params || {} }); }

  var lastSize = "";
  function reportSize() {
    if (!initialized) return;
    var size = { width: Math.ceil(document.documentElement.scrollWidth), height: Math.ceil(document.documentElement.scrollHeight) };
    var key = size.width + "x" + size.height;
    if (key === lastSize) return;
    lastSize = key;
    notify("ui/notifications/size-changed", size);
  }

  function applyHostContext(ctx) {
    if (!ctx) return;
    var root = document.documentElement;
    if (ctx.theme) root.setAttribute("data-theme", ctx.theme);
    var vars = ctx.styles && ctx.styles.variables;
    Object.keys(vars || {}).forEach(function (k) { if (vars[k]) root.style.setProperty(k, vars[k]); });
  }

  function onMessage(event) {
    if (event.source !== window.parent) return;
    var msg = event.data;
    if (!msg || msg.jsonrpc !== "2.0") return;
    if (msg.id !== undefined && !msg.method) {  // a response to one of our requests
      var waiting = pending[msg.id];
      delete pending[msg.id];
      if (waiting) {
        if (msg.error) waiting.reject(new Error(msg.error.message || "host error"));
        else waiting.resolve(msg.result);
      }
      return;
    }
    var params = msg.params || {};
    if (msg.method === "ui/notifications/tool-result") addResult(params);
    else if (msg.method === "ui/notifications/tool-input") setStatus("Computing...");
    else if (msg.method === "ui/notifications/tool-cancelled") setStatus("The tool call was cancelled" + (params.reason ? ": " + params.reason : "."));
    else if (msg.method === "ui/notifications/host-context-changed") applyHostContext(params);
    if (msg.id !== undefined && (msg.method === "ui/resource-teardown" || msg.method === "ping")) {
      post({ jsonrpc: "2.0", id: msg.id, result: {} });
    } else if (msg.id !== undefined && msg.method) {
      post({ jsonrpc: "2.0", id: msg.id, error: { code: -32601, message: "Method not found: " + msg.method } });
    }
  }

  function setStatus(text) {
    var status = document.getElementById("status");
    if (status) status.textContent = text;
  }

  function connect() {
    window.addEventListener("message", onMessage);
    request("ui/initialize", {
      appInfo: APP_INFO, appCapabilities: { availableDisplayModes: ["inline"] }, protocolVersion: PROTOCOL_VERSION
    }).then(function (init) {
      applyHostContext(init && init.hostContext);
      notify("ui/notifications/initialized", {});
      initialized = true;
      reportSize();
    }, function (err) { setStatus("The host refused the view: " + err.message); });
    if (window.ResizeObserver) new ResizeObserver(reportSize).observe(document.documentElement);
  }

  window.csPortfolio = { money: money, pct: pct, pct1: pct1 };  // the formatters, for tests

  // ---- start: embedded results (a standalone report) or a host connection

  var embedded = document.getElementById("cs-data");
  if (embedded) {
    var data = JSON.parse(embedded.textContent);
    meta = { title: data.title, subtitle: data.subtitle };
    (data.results || []).forEach(function (r) {
      var kind = kindOf(r.structuredContent);
      if (kind) results[kind] = r.structuredContent;
    });
    render();
  } else if (inHost) {
    connect();
  } else {
    setStatus("This page shows a churn-risk-list, renewal-forecast or retention-metrics result in an MCP Apps "
      + "client; `cs-mcp report weekly-at-risk --out report.html` writes it with live data.");
  }
}());
