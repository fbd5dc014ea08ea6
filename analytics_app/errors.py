"""The one JSON error envelope, and the AppError family that views and services raise.

Every error leaves the service as ``{"code", "status", "message", "errors"?}`` (flask-smorest's
shape), whether it was raised by our code, by Werkzeug while routing or reading the body, by
flask-jwt-extended, by the rate limiter, or by the database driver.
"""

import logging
from http import HTTPStatus

from flask import jsonify, render_template, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from .extensions import db

log = logging.getLogger(__name__)

DATABASE_RETRY_AFTER_SECONDS = 5


class AppError(Exception):
    """An expected failure that maps to an HTTP status and a client-facing message."""

    status = 500
    message = "internal server error"

    def __init__(self, message=None, *, errors=None, headers=None):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.errors = errors
        self.headers = headers or {}


class AuthenticationError(AppError):
    status = 401
    message = "missing or invalid bearer token"


class MissingScopeError(AppError):
    status = 403
    message = "token lacks the required scope"


class MalformedBodyError(AppError):
    status = 400
    message = "request body is not valid JSON"


class BodyTooLargeError(AppError):
    status = 413
    message = "request body too large"


class LengthRequiredError(AppError):
    status = 411
    message = "send a Content-Length or a chunked body"


class BatchTooLargeError(AppError):
    status = 413
    message = "batch too large"


class UnsupportedMediaTypeError(AppError):
    status = 415
    message = "send the body as application/json"


class EventValidationError(AppError):
    status = 422
    message = "events failed validation; nothing was stored"


class DatabaseUnavailableError(AppError):
    status = 503
    message = "database unavailable, retry later"

    def __init__(self, message=None):
        super().__init__(message, headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)})


def error_response(status, message, errors=None, headers=None):
    """Build the JSON error envelope as a Flask response."""
    body = {"code": status, "status": HTTPStatus(status).phrase, "message": message}
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers or {})
    return response


# Browsers get HTML error pages outside the API; scripts may run nothing in them.
HTML_ERROR_POLICY = "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'"


def _wants_html():
    """A browser asking for a page outside the API (whose errors stay JSON whatever Accept says)."""
    if request.path.startswith("/api/"):
        return False
    accepted = request.accept_mimetypes
    return accepted["text/html"] > accepted["application/json"]


def _answer(status, message, errors=None, headers=None):
    """The JSON envelope, or for a browser outside the API the same message as an HTML page."""
    if not _wants_html():
        return error_response(status, message, errors, headers)
    page = render_template("public_error.html", status=status, message=message)
    return page, status, {**(headers or {}), "Content-Security-Policy": HTML_ERROR_POLICY}


def _handle_app_error(error):
    return _answer(error.status, error.message, error.errors, error.headers)


def _handle_http_exception(error):
    if isinstance(error, InternalServerError):
        return _handle_unexpected(error.original_exception or error)
    data = getattr(error, "data", None) or {}
    errors = data.get("errors") or data.get("messages")
    headers = dict(data.get("headers") or {})
    if error.code == 405 and error.valid_methods:
        headers["Allow"] = ", ".join(error.valid_methods)
    if error.code == 413:
        return _answer(413, BodyTooLargeError.message, headers=headers)
    message = data.get("message") or error.description
    return _answer(error.code, message, errors, headers)


def _handle_database_unavailable(error):
    log.warning("database unavailable: %s", error.orig if hasattr(error, "orig") else error)
    db.session.rollback()
    return _handle_app_error(DatabaseUnavailableError())


def _handle_unexpected(error):
    log.exception("unhandled error", exc_info=error)
    return _answer(500, AppError.message)


def init_app(app):
    """Route every kind of failure through the one envelope."""
    app.register_error_handler(AppError, _handle_app_error)
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(OperationalError, _handle_database_unavailable)
    app.register_error_handler(Exception, _handle_unexpected)
