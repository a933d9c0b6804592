/* The analytics dashboards' charts, drawn with the vendored Apache ECharts from the figures
   the page carries in #chart-data (the same figures as its tables). No network: every file
   is served by this site. A hidden small count ("<5") is drawn as 1 and labelled "<5". */
(function () {
  "use strict";

  function draw(id, option) {
    var element = document.getElementById(id);
    if (!element || !window.echarts) { return null; }
    var chart = window.echarts.init(element, null, { renderer: "svg" });
    chart.setOption(option);
    window.addEventListener("resize", function () { chart.resize(); });
    window.addEventListener("beforeprint", function () { chart.resize(); });
    return chart;
  }

  function shown(params) {
    var pair = params.data && params.data.shown !== undefined ? params.data.shown : params.value;
    return params.name + ": " + pair;
  }

  function start() {
    var button = document.getElementById("print");
    if (button) { button.addEventListener("click", function () { window.print(); }); }
    // A printed page shows every data table: closed <details> are opened for the print.
    var opened = [];
    window.addEventListener("beforeprint", function () {
      document.querySelectorAll("details.data:not([open])").forEach(function (d) {
        d.open = true;
        opened.push(d);
      });
    });
    window.addEventListener("afterprint", function () {
      opened.forEach(function (d) { d.open = false; });
      opened = [];
    });
    var source = document.getElementById("chart-data");
    if (!source) { return; }
    var data = JSON.parse(source.textContent);
    var names = data.names;

    if (data.series.length) {
      var keys = ["scans", "firsts", "repeats", "trade"];
      draw("chart-series", {
        animation: false,
        tooltip: { trigger: "axis" },
        legend: { top: 0 },
        grid: { left: 48, right: 16, top: 36, bottom: 28 },
        xAxis: { type: "category", data: data.series.map(function (d) { return d.day; }) },
        yAxis: { type: "value", minInterval: 1 },
        series: keys.map(function (key) {
          return {
            name: names[key],
            type: key === "scans" ? "line" : "bar",
            stack: key === "scans" ? undefined : "mix",
            data: data.series.map(function (d) { return { value: d[key][0], shown: d[key][1] }; })
          };
        })
      });
    }
    if (data.verdicts.length) {
      draw("chart-verdicts", {
        animation: false,
        tooltip: { trigger: "item", formatter: shown },
        series: [{
          type: "pie",
          radius: ["35%", "65%"],
          label: { formatter: function (p) { return p.name + "\n" + p.data.shown; } },
          data: data.verdicts.map(function (d) { return { name: d.name, value: d.value[0], shown: d.value[1] }; })
        }]
      });
    }
    if (data.cities.length) {
      var cities = data.cities.slice(0, 20).reverse();
      draw("chart-cities", {
        animation: false,
        tooltip: { trigger: "item", formatter: shown },
        grid: { left: 96, right: 24, top: 8, bottom: 24 },
        xAxis: { type: "value", minInterval: 1 },
        yAxis: { type: "category", data: cities.map(function (d) { return d.name; }) },
        series: [{
          type: "bar",
          label: { show: true, position: "right", formatter: function (p) { return p.data.shown; } },
          data: cities.map(function (d) { return { value: d.value[0], shown: d.value[1] }; })
        }]
      });
    }
    if (data.flows.length) {
      // A sankey from distributors (left) to the provinces their goods were scanned in
      // (right); the same name on both sides would make a cycle, so the sides are tagged.
      var nodes = {};
      var links = {};
      data.flows.forEach(function (f) {
        var left = f.from + " ▸";
        var right = "▸ " + f.to;
        nodes[left] = true;
        nodes[right] = true;
        var key = left + "\u0000" + right;
        links[key] = links[key] || { source: left, target: right, value: 0 };
        links[key].value += f.value[0];
      });
      draw("chart-flows", {
        animation: false,
        tooltip: { trigger: "item" },
        series: [{
          type: "sankey",
          left: 8, right: 96, top: 8, bottom: 8,
          nodeGap: 10,
          data: Object.keys(nodes).map(function (name) { return { name: name }; }),
          links: Object.keys(links).map(function (key) { return links[key]; })
        }]
      });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
