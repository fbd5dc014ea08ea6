"""The HTTP responses of exports, direct or from a job, shared by the API and the dashboard.

Every one is ``no-store``: an export is a copy of the events, which no cache on the way (or
the browser's) may keep.
"""

import io
import tempfile

import sqlalchemy as sa
from flask import Response, current_app, send_file, stream_with_context

from ..errors import AppError
from ..extensions import db
from ..reports.events import count_rows, guarded, set_time_zone
from . import csv, jobs, stream, tables, xlsx
from .request import MEDIA_TYPES

FILE_CHUNK = 64 * 1024
NO_STORE = {"Cache-Control": "no-store"}


class DirectExportTooLargeError(AppError):
    status = 413

    def __init__(self, limit, jobs_url):
        super().__init__(
            f"an Excel export of more than {limit} rows is not sent directly: queue it as a "
            f"job with POST {jobs_url} (the same parameters, as a JSON body), or export CSV",
            errors={"max_rows": limit, "jobs_url": jobs_url},
        )


class ExportTimeZoneError(AppError):
    status = 422

    def __init__(self, name):
        super().__init__(
            f"the database does not know the time zone {name!r}",
            errors={"query": {"tz": [f"time zone {name!r} unknown to the database"]}},
        )


def check_time_zone(layout):
    """Refuse (422) a zone PostgreSQL does not know before a CSV starts streaming, when an
    error could no longer become an answer of its own."""
    if db.engine.dialect.name != "postgresql":
        return
    try:
        db.session.execute(set_time_zone(layout))
    except sa.exc.DataError:  # invalid_parameter_value; an outage stays a 503
        raise ExportTimeZoneError(layout.zone.key) from None
    finally:
        db.session.rollback()


def direct_limit(export_format):
    """The most rows a direct download holds, or None for no limit.

    Excel is written whole before its first byte is sent, holding a web worker for the time
    (bench/README.md: about 14k rows/s), so it has a limit; CSV streams as it is read, in flat
    memory, and has none.
    """
    return current_app.config["EXPORT_DIRECT_XLSX_ROWS"] if export_format == "xlsx" else None


def within_direct_limit(export):
    """Whether a direct download of ``export`` stays within its format's limit."""
    limit = direct_limit(export.format)
    return limit is None or count_rows(*export.span(), export.filters, limit=limit + 1) <= limit


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
    layout = export.layout
    if export.format == "csv":
        check_time_zone(layout)
        body = stream_with_context(stream.csv_chunks(lo, hi, export.filters, layout))
    else:
        spool = tempfile.TemporaryFile()  # noqa: SIM115 - _file_chunks closes it once sent
        try:
            rows = stream.rows(lo, hi, export.filters, layout, excel=True)
            xlsx.write(rows, spool, header=layout.header(excel=True))
        except BaseException:
            spool.close()
            raise
        spool.seek(0)
        body = _file_chunks(spool)
    return Response(
        body,
        mimetype=MEDIA_TYPES[export.format],
        headers={"Content-Disposition": f'attachment; filename="{export.filename()}"', **NO_STORE},
    )


def _csv_cell(value, guard):
    if isinstance(value, bool):
        return "true" if value else "false"
    return guarded(value) if guard else value


def report_file(report, body, export_format, formula_guard=True):
    """A report's answer as a CSV or Excel table (``tables``), as an attachment."""
    header, rows = tables.table(report, body)
    span = [body["start"], body["end"]] if "start" in body else [body["date"]]
    stem = report.removesuffix("_series").replace("_", "-")
    filename = f"{'_'.join([stem, *span])}.{export_format}"
    if export_format == "csv":
        cells = ([_csv_cell(value, formula_guard) for value in row] for row in rows)
        content = b"".join(csv.from_rows(cells, header))
    else:
        target = io.BytesIO()
        xlsx.write(rows, target, header=header, title=report.replace("_", " "))
        content = target.getvalue()
    return Response(
        content,
        mimetype=MEDIA_TYPES[export_format],
        headers={"Content-Disposition": f'attachment; filename="{filename}"', **NO_STORE},
    )


def job_file(job):
    """A finished job's file as an attachment (410 once expired, 404 before it is done)."""
    response = send_file(
        jobs.finished_file(job),
        mimetype=MEDIA_TYPES[job.format],
        as_attachment=True,
        download_name=job.filename,
        conditional=False,
        etag=False,
        last_modified=None,
    )
    response.headers.update(NO_STORE)
    return response
