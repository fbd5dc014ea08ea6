"""CSV (RFC 4180, header row, CRLF row ends) from PostgreSQL's COPY or from plain rows."""

import csv
import io

CHUNK_ROWS = 1000


BLOCK_BYTES = 64 * 1024


def crlf(chunks):
    """Turn COPY's LF row ends into CRLF, in blocks of about 64 KiB.

    Exact without parsing quotes: ingest refuses control characters in every text column
    but the payload, and JSON text never holds a raw newline, so every LF ends a row. COPY
    hands over one row at a time; passed on as they come, each became a packet of its own
    (a million sends for a million rows), so they are gathered first.
    """
    block, size = [], 0
    for chunk in chunks:
        block.append(chunk)
        size += len(chunk)
        if size >= BLOCK_BYTES:
            yield b"".join(block).replace(b"\n", b"\r\n")
            block, size = [], 0
    if block:
        yield b"".join(block).replace(b"\n", b"\r\n")


def from_rows(rows, header):
    """Encode rows (tuples in ``header`` order) as CSV chunks, header first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for count, row in enumerate(rows, 1):
        writer.writerow(row)
        if count % CHUNK_ROWS == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")
