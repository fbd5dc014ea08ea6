"""Read an ingest request body: media type, gzip, and the size limit before and after inflating."""

import zlib

from ..errors import (
    BodyTooLargeError,
    LengthRequiredError,
    MalformedBodyError,
    UnsupportedMediaTypeError,
)

READ_CHUNK = 64 * 1024


def read_body(request, max_bytes):
    """Return the (decompressed) body bytes, refusing anything over ``max_bytes``.

    An oversized upload is refused from its Content-Length, or (chunked) as soon as more than
    ``max_bytes`` have arrived, so it is never held whole; a gzip body is inflated to at most
    ``max_bytes + 1`` bytes, so a small bomb cannot exhaust the worker either.
    """
    if request.mimetype != "application/json":
        raise UnsupportedMediaTypeError()
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise UnsupportedMediaTypeError("send the body as UTF-8 encoded JSON")
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip"):
        raise UnsupportedMediaTypeError("Content-Encoding must be gzip or absent")
    body = _read(request, max_bytes)
    return _gunzip(body, max_bytes) if encoding == "gzip" else body


def _read(request, max_bytes):
    if request.content_length is not None:
        if request.content_length > max_bytes:
            raise BodyTooLargeError()
        return request.get_data(cache=False)
    if not request.environ.get("wsgi.input_terminated"):
        raise LengthRequiredError()
    # Chunked: Werkzeug's own limit truncates such a stream silently, so count it here.
    stream, chunks, size = request.environ["wsgi.input"], [], 0
    while chunk := stream.read(min(READ_CHUNK, max_bytes + 1 - size)):
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            raise BodyTooLargeError()
    return b"".join(chunks)


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
