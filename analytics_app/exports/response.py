"""The HTTP response of a direct export, shared by the API and the dashboard."""

import tempfile

from flask import Response, stream_with_context

from . import stream, xlsx
from .request import MEDIA_TYPES

FILE_CHUNK = 64 * 1024


def _file_chunks(handle):
    with handle:
        while chunk := handle.read(FILE_CHUNK):
            yield chunk


def download(export):
    """The export as an attachment: CSV streamed as it is read, Excel spooled to disk first.

    Excel is written whole before the first byte goes out (a zip needs its directory at the
    end), so errors still become a proper error response; the temporary file keeps memory flat.
    """
    lo, hi = export.span()
    if export.format == "csv":
        body = stream_with_context(stream.csv_chunks(lo, hi, export.filters))
    else:
        spool = tempfile.TemporaryFile()  # noqa: SIM115 - _file_chunks closes it once sent
        try:
            xlsx.write(stream.rows(lo, hi, export.filters), spool)
        except BaseException:
            spool.close()
            raise
        spool.seek(0)
        body = _file_chunks(spool)
    return Response(
        body,
        mimetype=MEDIA_TYPES[export.format],
        headers={"Content-Disposition": f'attachment; filename="{export.filename()}"'},
    )
