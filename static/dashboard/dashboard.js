// The dashboard's behaviour: draw the Plotly figures the server embeds as JSON, copy
// buttons, confirmations, and a notice when an HTMX request fails. No inline scripts
// anywhere (the Content-Security-Policy forbids them).
(function () {
  "use strict";

  var PLOTLY_CONFIG = { responsive: true, displaylogo: false, displayModeBar: false };

  function drawCharts(root) {
    if (!window.Plotly || !root.querySelectorAll) return;
    var charts = Array.prototype.slice.call(root.querySelectorAll("[data-figure]"));
    if (root.matches && root.matches("[data-figure]")) charts.push(root);
    charts.forEach(function (element) {
      var source = document.getElementById(element.dataset.figure);
      if (!source) return;
      var figure = JSON.parse(source.textContent);
      window.Plotly.react(element, figure.data, figure.layout, PLOTLY_CONFIG);
    });
  }

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
})();
