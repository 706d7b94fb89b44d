// The plan page's cost/service frontier (Chart.js, vendored). Data from #frontier-data.
(function () {
  const el = document.getElementById("frontier-data");
  const canvas = document.getElementById("frontier-chart");
  if (!el || !canvas || !window.Chart) return;
  const points = JSON.parse(el.textContent).map(p => ({x: p.investment, y: 100 * p.on_time}));
  const fmt = new Intl.NumberFormat("en", {maximumFractionDigits: 0});
  new Chart(canvas, {
    type: "line",
    data: {datasets: [{label: "on time (%)", data: points, borderColor: "#1f4e79", pointRadius: 2}]},
    options: {
      animation: false, maintainAspectRatio: false, parsing: false,
      scales: {
        x: {type: "linear", title: {display: true, text: "investment (" + (canvas.dataset.currency || "") + ")"}, ticks: {callback: v => fmt.format(v), maxTicksLimit: 6}},
        y: {title: {display: true, text: "on time (%)"}, ticks: {callback: v => v.toFixed(1) + " %"}}
      },
      plugins: {legend: {display: false}}
    }
  });
})();
