// Start Swagger UI on the API document named by the page (templates/swagger_ui.html).
(function () {
  "use strict";
  var container = document.getElementById("swagger-ui-container");
  var config = { url: container.dataset.specUrl, dom_id: "#swagger-ui-container" };
  Object.assign(config, JSON.parse(container.dataset.config || "{}"));
  window.ui = SwaggerUIBundle(config);
})();
