// Charts of the plan page (frontier per tier and severity) and the dispatch board (SLA
// compliance per tier and severity, per depot), on the vendored Chart.js. Data from the
// page's application/json scripts; every chart has a table beside it with the same figures.
(function () {
  if (!window.Chart) return;
  const SEVERITY = {1: "#1a7f37", 2: "#4d9de0", 3: "#d4a017", 4: "#e07b39"};
  const MISS = "#b71c1c", OK = "#1f4e79", TARGET = "#5f6b76";
  const money = new Intl.NumberFormat("en", {maximumFractionDigits: 0});
  const percent = v => v.toFixed(0) + " %";
  const data = id => { const el = document.getElementById(id); return el ? JSON.parse(el.textContent) : null; };
  const floorTo = (v, step) => Math.max(0, Math.floor(v / step) * step);

  // the frontier per class: one chart per tier, a line per severity, its target dashed
  const rows = data("class-frontier-data");
  if (rows) {
    document.querySelectorAll("canvas.class-frontier-chart").forEach(canvas => {
      const tier = canvas.dataset.tier;
      const mine = rows.filter(r => r.tier === tier);
      const xs = mine.map(r => r.investment);
      const lo = Math.min(...xs), hi = Math.max(...xs);
      const severities = [...new Set(mine.map(r => r.severity))].sort();
      const sets = [];
      let low = 100;
      severities.forEach(s => {
        const pts = mine.filter(r => r.severity === s && r.on_time !== null)
          .sort((a, b) => a.point - b.point).map(r => ({x: r.investment, y: 100 * r.on_time}));
        const colour = SEVERITY[s] || TARGET;
        sets.push({label: "severity " + s, data: pts, borderColor: colour, backgroundColor: colour,
                   pointRadius: 2, borderWidth: 2});
        const target = mine.find(r => r.severity === s).target;
        if (target !== null) {
          low = Math.min(low, 100 * target);
          sets.push({label: "target " + s, data: [{x: lo, y: 100 * target}, {x: hi, y: 100 * target}],
                     borderColor: colour, borderDash: [5, 4], borderWidth: 1, pointRadius: 0});
        }
      });
      new Chart(canvas, {
        type: "line",
        data: {datasets: sets},
        options: {
          animation: false, maintainAspectRatio: false, parsing: false,
          plugins: {title: {display: true, text: tier},
                    legend: {labels: {boxWidth: 12, filter: item => item.text.startsWith("severity")}}},
          scales: {
            x: {type: "linear", title: {display: true, text: "investment (" + (canvas.dataset.currency || "") + ")"},
                ticks: {callback: v => money.format(v), maxTicksLimit: 5, maxRotation: 0}},
            y: {min: floorTo(low - 10, 5), max: 100, title: {display: true, text: "on time (%)"},
                ticks: {callback: percent}}
          }
        }
      });
    });
  }

  // SLA compliance: bars of the on-time share, red where under target, the target as a dash
  const sla = data("sla-data");
  if (sla) {
    const bars = (id, items, label) => {
      const canvas = document.getElementById(id);
      if (!canvas || !items.length) return;
      const shares = items.map(r => r.on_time_share === null ? null : 100 * r.on_time_share);
      const targets = items.map(r => r.target === null || r.target === undefined ? null : 100 * r.target);
      const colours = items.map((r, i) => targets[i] !== null && shares[i] !== null && shares[i] < targets[i] ? MISS : OK);
      const known = shares.concat(targets).filter(v => v !== null);
      const sets = [{type: "bar", label: "on time (%)", data: shares, backgroundColor: colours}];
      if (targets.some(v => v !== null)) {
        sets.push({type: "line", label: "target (%)", data: targets, borderColor: TARGET, backgroundColor: TARGET,
                   showLine: false, pointStyle: "line", pointRadius: 12, pointBorderWidth: 3});
      }
      new Chart(canvas, {
        data: {labels: items.map(label), datasets: sets},
        options: {
          animation: false, maintainAspectRatio: false,
          plugins: {legend: {labels: {boxWidth: 12}},
                    tooltip: {callbacks: {label: c => c.dataset.label + ": " + (c.raw === null ? "–" : c.raw.toFixed(1) + " %")}}},
          scales: {
            x: {ticks: {autoSkip: false, maxRotation: 60, minRotation: 0}},
            y: {min: known.length ? floorTo(Math.min(...known) - 5, 5) : 0, max: 100,
                title: {display: true, text: "on time (%)"}, ticks: {callback: percent}}
          }
        }
      });
    };
    bars("sla-classes-chart", sla.by_tier_severity, r => r.tier + " " + r.severity);
    bars("sla-depots-chart", sla.by_depot, r => r.depot_id);
  }
})();
