// The dashboard's behaviour: draw the Plotly figures the server embeds as JSON (in the light or
// dark colours of the page), date presets, the browser's time zone, chart downloads, copy
// buttons, confirmations, and a notice when an HTMX request fails. No inline scripts anywhere
// (the Content-Security-Policy forbids them).
(function () {
  "use strict";

  var PLOTLY_CONFIG = { responsive: true, displaylogo: false, displayModeBar: false };
  var ZONE_COOKIE = "analytics_tz";
  var DARK = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

  // Charts -------------------------------------------------------------------------------

  // The page's chart colours: CSS variables, which follow prefers-color-scheme. Read once for
  // every chart drawn together (one style computation, not one per trace).
  function palette() {
    var style = getComputedStyle(document.documentElement);
    var read = function (name) {
      return style.getPropertyValue(name).trim();
    };
    return {
      text: read("--chart-text"),
      grid: read("--chart-grid"),
      line: read("--chart-line"),
      previous: read("--chart-previous"),
      fill: read("--chart-fill"),
    };
  }

  // The palette's colours on a figure's layout and traces; a trace's meta says whether it is
  // the period shown or the previous one.
  function themed(figure, colours) {
    var layout = JSON.parse(JSON.stringify(figure.layout));
    layout.font = Object.assign({}, layout.font, { color: colours.text });
    ["xaxis", "yaxis"].forEach(function (name) {
      if (!layout[name]) return;
      layout[name].gridcolor = colours.grid;
      layout[name].linecolor = colours.grid;
      layout[name].zerolinecolor = colours.grid;
    });
    var data = figure.data.map(function (trace) {
      var copy = JSON.parse(JSON.stringify(trace));
      var line = copy.meta === "previous" ? colours.previous : colours.line;
      if (copy.type === "bar") {
        copy.marker = Object.assign({}, copy.marker, { color: line });
      } else {
        copy.line = Object.assign({}, copy.line, { color: line });
        if (copy.fill) copy.fillcolor = colours.fill;
        if (copy.textfont) copy.textfont = Object.assign({}, copy.textfont, { color: line });
      }
      return copy;
    });
    return { data: data, layout: layout };
  }

  // The figure (its <script type="application/json">) each chart element has drawn. A chart is
  // drawn once, as soon as both plotly.js and its panel are there, whichever came first; a
  // panel swapped in anew brings new elements and is drawn again, and so is every chart when
  // the colour scheme changes.
  var drawn = new WeakMap();

  function drawCharts(root, again) {
    if (!window.Plotly || !root.querySelectorAll) return;
    var charts = Array.prototype.slice.call(root.querySelectorAll("[data-figure]"));
    if (root.matches && root.matches("[data-figure]")) charts.push(root);
    var colours = null;
    charts.forEach(function (element) {
      var source = document.getElementById(element.dataset.figure);
      if (!source || (!again && drawn.get(element) === source)) return;
      colours = colours || palette();
      var figure = themed(JSON.parse(source.textContent), colours);
      window.Plotly.react(element, figure.data, figure.layout, PLOTLY_CONFIG);
      drawn.set(element, source);
    });
  }

  // plotly.js takes 50-300 ms of the main thread to run. Pages with charts preload it (the
  // download starts with the page) and it is run here, after htmx has sent the panels'
  // requests on DOMContentLoaded (htmx's listener comes first): the server answers them while
  // plotly runs. A deferred <script> would hold DOMContentLoaded, and so every request, until
  // plotly had run. Panels that arrive before it are drawn when it has.
  function loadPlotly() {
    var preload = document.querySelector("link[data-plotly]");
    if (!preload || window.Plotly) return;
    var script = document.createElement("script");
    script.src = preload.href;
    script.addEventListener("load", function () {
      drawCharts(document);
    });
    document.head.appendChild(script);
  }

  if (DARK && DARK.addEventListener) {
    DARK.addEventListener("change", function () {
      drawCharts(document, true);
    });
  }

  // Date presets and the time zone -------------------------------------------------------

  function isoDay(date) {
    return date.toISOString().slice(0, 10);
  }

  // One formatter a zone: making one costs far more than using it (the presets ask for
  // today six times as the page opens).
  var dayFormats = {};

  function todayIn(zone) {
    if (!dayFormats[zone]) {
      var options = { year: "numeric", month: "2-digit", day: "2-digit" };
      try {
        options.timeZone = zone;
        dayFormats[zone] = new Intl.DateTimeFormat("en-CA", options);
      } catch (error) {
        delete options.timeZone; // an unknown zone: the server will say so
        dayFormats[zone] = new Intl.DateTimeFormat("en-CA", options);
      }
    }
    return dayFormats[zone].format(new Date());
  }

  // [start, end] of a preset, as YYYY-MM-DD, for today in the filter bar's zone.
  function presetRange(preset, zone) {
    var today = new Date(todayIn(zone) + "T00:00:00Z");
    var daysBack = function (n) {
      var day = new Date(today);
      day.setUTCDate(day.getUTCDate() - n);
      return isoDay(day);
    };
    var first = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), 1));
    switch (preset) {
      case "today":
        return [isoDay(today), isoDay(today)];
      case "7d":
        return [daysBack(6), isoDay(today)];
      case "30d":
        return [daysBack(29), isoDay(today)];
      case "90d":
        return [daysBack(89), isoDay(today)];
      case "month":
        return [isoDay(first), isoDay(today)];
      case "last-month": {
        var lastEnd = new Date(first);
        lastEnd.setUTCDate(0);
        var lastStart = new Date(Date.UTC(lastEnd.getUTCFullYear(), lastEnd.getUTCMonth(), 1));
        return [isoDay(lastStart), isoDay(lastEnd)];
      }
    }
    return null;
  }

  function filterForm() {
    return document.getElementById("filters");
  }

  function markPresets() {
    var form = filterForm();
    if (!form) return;
    var start = form.elements.start.value;
    var end = form.elements.end.value;
    form.querySelectorAll("[data-preset]").forEach(function (button) {
      var range = presetRange(button.dataset.preset, form.elements.tz.value);
      var on = range && range[0] === start && range[1] === end;
      button.setAttribute("aria-pressed", on ? "true" : "false");
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-preset]");
    var form = filterForm();
    if (!button || !form) return;
    var range = presetRange(button.dataset.preset, form.elements.tz.value);
    form.elements.start.value = range[0];
    form.elements.end.value = range[1];
    markPresets();
    // One change event for both fields: the form asks for the panels once.
    form.elements.end.dispatchEvent(new Event("change", { bubbles: true }));
  });

  document.addEventListener("change", function (event) {
    if (event.target.form === filterForm()) markPresets();
  });

  // The browser's zone is the default one: kept in a cookie the server reads, and applied at
  // once on a first visit whose address names no zone.
  function followBrowserZone() {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (!zone) return;
    document.cookie =
      ZONE_COOKIE + "=" + encodeURIComponent(zone) + "; path=/dashboard; max-age=31536000; samesite=lax";
    var form = filterForm();
    if (!form || new URLSearchParams(window.location.search).has("tz")) return;
    if (form.elements.tz.value !== zone) {
      form.elements.tz.value = zone;
      form.elements.tz.dispatchEvent(new Event("change", { bubbles: true }));
    }
  }

  // Chart downloads ----------------------------------------------------------------------

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-png]");
    if (!button || !window.Plotly) return;
    var chart = document.getElementById(button.dataset.png);
    if (!chart) return;
    window.Plotly.downloadImage(chart, {
      format: "png",
      filename: button.dataset.filename || button.dataset.png,
      width: chart.clientWidth,
      height: chart.clientHeight,
    });
  });

  // HTMX ---------------------------------------------------------------------------------

  function showRequestError(message) {
    var notice = document.getElementById("request-error");
    if (!notice) return;
    notice.textContent = message;
    notice.hidden = false;
  }

  function hideRequestError() {
    var notice = document.getElementById("request-error");
    if (notice) notice.hidden = true;
  }

  htmx.onLoad(drawCharts);

  // A panel that failed answers 4xx/5xx with its own message and a retry (X-Panel: failed):
  // it takes the panel's place, and the rest of the page carries on.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr.status >= 400 && xhr.getResponseHeader("X-Panel") === "failed") {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("htmx:responseError", function (event) {
    showRequestError("The server answered " + event.detail.xhr.status + ". Reload the page to retry.");
  });
  document.addEventListener("htmx:sendError", function () {
    showRequestError("The server could not be reached. The page will retry.");
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.successful) hideRequestError();
  });

  // Small things -------------------------------------------------------------------------

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.getElementById(button.dataset.copy);
    if (!source || !navigator.clipboard) return;
    navigator.clipboard.writeText(source.textContent.trim()).then(function () {
      button.textContent = "Copied";
    });
  });

  document.addEventListener("submit", function (event) {
    var question = event.target.dataset && event.target.dataset.confirm;
    if (question && !window.confirm(question)) event.preventDefault();
  });

  // After plotly.js and the panels when the browser is idle (within a second at most).
  function whenIdle(callback) {
    if (window.requestIdleCallback) window.requestIdleCallback(callback, { timeout: 1000 });
    else window.setTimeout(callback, 200);
  }

  function hasZoneCookie() {
    return document.cookie.split("; ").some(function (cookie) {
      return cookie.indexOf(ZONE_COOKIE + "=") === 0;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    loadPlotly();
    // Both go through Intl, whose first use in a page sets ICU up: 20-80 ms of the main
    // thread, which would hold up plotly.js and the panels. The server has pressed the
    // preset shown and opened the page in the zone the cookie names: with the cookie set,
    // checking that the browser is still in that zone waits for an idle moment. A first
    // visit (no cookie) follows the browser's zone at once, before the panels are drawn.
    if (hasZoneCookie()) {
      whenIdle(function () {
        markPresets();
        followBrowserZone();
      });
    } else {
      markPresets();
      followBrowserZone();
    }
  });
})();
