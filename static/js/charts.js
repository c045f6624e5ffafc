/* Draws every public chart from the figure JSON that the page embeds with json_script.
   A chart container names its figure's script element in data-figure; no inline code, so a
   strict Content-Security-Policy (script-src 'self') holds. Without JavaScript (or before
   plotly loads) the data table under each chart carries the same numbers. */
(function () {
  "use strict";

  // No mode bar: its buttons would be focusable controls inside role="img", which assistive
  // technology never reaches (axe: nested-interactive). The CSV link and the data table
  // under each chart do its job.
  var CONFIG = { responsive: true, displaylogo: false, displayModeBar: false };

  function draw(container) {
    var source = document.getElementById(container.getAttribute("data-figure"));
    if (!source || !window.Plotly) {
      return;
    }
    var figure = JSON.parse(source.textContent);
    window.Plotly.newPlot(container, figure.data || [], figure.layout || {}, CONFIG);
  }

  function drawAll() {
    var containers = document.querySelectorAll("[data-figure]");
    for (var i = 0; i < containers.length; i += 1) {
      draw(containers[i]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
