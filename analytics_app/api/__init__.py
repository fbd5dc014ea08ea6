"""The JSON API under /api/analytics, documented by flask-smorest."""

from ..extensions import api
from ..routing import OPENAPI
from . import audit, exports, funnels, health, ingest, reports, schemas, users


def init_app(app):
    """Register the API blueprints, the OpenAPI document and Swagger UI."""
    app.config.update(
        API_TITLE="Analytics API",
        API_VERSION="1.0",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/api/analytics",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        # Served from our own static folder: the docs work with no internet.
        OPENAPI_SWAGGER_UI_URL="/static/vendor/swagger-ui/",
        # No badge from validator.swagger.io: the page loads nothing from elsewhere.
        OPENAPI_SWAGGER_UI_CONFIG={"validatorUrl": None},
        API_SPEC_OPTIONS={
            "components": {
                "securitySchemes": {
                    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
                }
            },
        },
    )
    api.init_app(app)
    for converter, schema in OPENAPI.items():
        api.register_converter(converter, lambda _, schema=schema: schema)
    schemas.register(api.spec, app.config["ALLOWED_EVENT_TYPES"])
    api.register_blueprint(ingest.blp)
    api.register_blueprint(health.blp)
    api.register_blueprint(audit.blp)
    api.register_blueprint(reports.blp)
    api.register_blueprint(funnels.blp)
    api.register_blueprint(users.blp)
    api.register_blueprint(exports.blp)
    ingest.register_alias(api, app)
