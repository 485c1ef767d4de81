/* "Mijn gemeente": draws the weekly charts with the vendored uPlot from the page's JSON data
 * island (<script type="application/json" id="grafiek-data">). No inline script and no eval, so
 * the app's CSP holds; uPlot sets its sizes through the CSSOM, which the CSP allows. The same
 * numbers are in the table after each chart: without this script the page loses nothing. */
(function () {
  "use strict";

  var COLOURS = { ads: "#0b4f8a", personas: "#7a4a00" };
  var HEIGHT = 260;

  function readData(id) {
    var island = document.getElementById(id);
    return island ? JSON.parse(island.textContent) : null;
  }

  function weekAxis(weeks) {
    return {
      space: 70,
      incrs: [1, 2, 4, 8, 13, 26, 52, 104],
      values: function (u, splits) {
        return splits.map(function (i) {
          return Number.isInteger(i) && weeks[i] !== undefined ? weeks[i] : "";
        });
      }
    };
  }

  function options(kind, data, width) {
    var labels = data.labels;
    var first = kind === "counts" ? "ads" : "ads_share";
    var second = kind === "counts" ? "personas" : "personas_share";
    return {
      width: width,
      height: HEIGHT,
      padding: [12, 36, 0, 0], // room for the last week's label at the right
      scales: {
        x: { time: false },
        y: kind === "shares" ? { range: [0, 100] } : { range: function (u, min, max) { return [0, Math.max(1, max)]; } }
      },
      series: [
        { label: labels.week, value: function (u, i) { return i == null ? "–" : data.weeks[i]; } },
        { label: labels[first], stroke: COLOURS.ads, width: 2, points: { show: true } },
        { label: labels[second], stroke: COLOURS.personas, width: 2, dash: [6, 4], points: { show: true } }
      ],
      axes: [weekAxis(data.weeks), {}]
    };
  }

  function draw(container, data) {
    var kind = container.getAttribute("data-chart");
    var x = data.weeks.map(function (_, i) { return i; });
    var ys = kind === "counts" ? [data.ads, data.personas] : [data.ads_share, data.personas_share];
    var width = Math.max(200, container.clientWidth);
    var plot = new window.uPlot(options(kind, data, width), [x].concat(ys), container);
    return function resize() {
      var now = Math.max(200, container.clientWidth);
      if (now !== plot.width) {
        plot.setSize({ width: now, height: HEIGHT });
      }
    };
  }

  function start() {
    if (typeof window.uPlot !== "function") {
      return; // the tables carry the numbers
    }
    var resizers = [];
    var containers = document.querySelectorAll("[data-chart]");
    Array.prototype.forEach.call(containers, function (container) {
      var data = readData(container.getAttribute("data-source"));
      if (data && data.weeks.length) {
        resizers.push(draw(container, data));
      }
    });
    var pending = null;
    window.addEventListener("resize", function () {
      window.clearTimeout(pending);
      pending = window.setTimeout(function () {
        resizers.forEach(function (resize) { resize(); });
      }, 150);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
