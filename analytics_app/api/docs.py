"""Shared OpenAPI documentation helpers for the resources."""

from http import HTTPStatus

BEARER = [{"bearerAuth": []}]


def error_responses(blp, *codes):
    """Document the error envelope for each status code a view can answer."""

    def decorator(view):
        for code in codes:
            view = blp.alt_response(code, response=HTTPStatus(code).name)(view)
        return view

    return decorator
