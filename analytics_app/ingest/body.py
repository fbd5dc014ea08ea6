"""Read an ingest request body: media type, gzip, and the size limit before and after inflating."""

import zlib

from werkzeug.exceptions import RequestEntityTooLarge

from ..errors import BodyTooLargeError, MalformedBodyError, UnsupportedMediaTypeError


def read_body(request, max_bytes):
    """Return the (decompressed) body bytes, refusing anything over ``max_bytes``.

    Werkzeug stops reading past ``MAX_CONTENT_LENGTH`` (Content-Length or chunked), so an
    oversized upload is never held whole; a gzip body is inflated at most ``max_bytes + 1``
    bytes at a time, so a small bomb cannot exhaust the worker either.
    """
    if request.mimetype != "application/json":
        raise UnsupportedMediaTypeError()
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise UnsupportedMediaTypeError("send the body as UTF-8 encoded JSON")
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip"):
        raise UnsupportedMediaTypeError("Content-Encoding must be gzip or absent")
    if request.content_length is not None and request.content_length > max_bytes:
        raise BodyTooLargeError()
    try:
        body = request.get_data(cache=False)
    except RequestEntityTooLarge:
        raise BodyTooLargeError() from None
    return _gunzip(body, max_bytes) if encoding == "gzip" else body


def _gunzip(data, max_bytes):
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        body = inflater.decompress(data, max_bytes + 1)
    except zlib.error:
        raise MalformedBodyError("request body is not valid gzip") from None
    if len(body) > max_bytes or inflater.unconsumed_tail:
        raise BodyTooLargeError("request body too large once decompressed")
    if not inflater.eof or inflater.unused_data:
        raise MalformedBodyError("request body is not one complete gzip stream")
    return body
