"""Shared OpenAPI documentation helpers for the resources."""

from http import HTTPStatus

from flask_smorest import Blueprint

BEARER = [{"bearerAuth": []}]


def error_responses(blp, *codes):
    """Document the error envelope for each status code a view can answer."""

    def decorator(view):
        for code in codes:
            view = blp.alt_response(code, response=HTTPStatus(code).name)(view)
        return view

    return decorator


def _pass_through_wrappers():
    """The code of the wrappers that flask-smorest's ``doc`` and ``alt_response`` put around a
    view: at run time they only call it (through ``current_app.ensure_sync``)."""
    probe = Blueprint("probe", __name__)
    return {probe.doc()(len).__code__, probe.alt_response(200)(len).__code__}


_PASS_THROUGH = _pass_through_wrappers()


def documented(view):
    """Return ``view`` without flask-smorest's ``doc``/``alt_response`` wrappers, keeping the
    OpenAPI doc they collected.

    Each wrapper calls ``current_app.ensure_sync``, which inspects the function for a coroutine:
    nine such calls per ingest request, for nothing. The document is read from the ``_apidoc``
    attribute only. Wrappers that do work (``arguments``, ``response``…) are refused.
    """
    doc = view._apidoc
    while "_apidoc" in vars(view):
        if view.__code__ not in _PASS_THROUGH:
            raise TypeError(f"{view.__name__}: only doc and alt_response can be unwrapped")
        view = view.__wrapped__
    view._apidoc = doc
    return view
