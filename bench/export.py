"""Export benchmark (issue 4): CSV and XLSX over HTTP against COPY and openpyxl's own rates.

Run from the repository root: ``.venv/bin/python bench/export.py`` (see bench/README.md).
Generates 1,000,000 events in the database ``analytics_bench_export``, measures the two
baselines (PostgreSQL's ``COPY … TO STDOUT WITH CSV`` and openpyxl's write-only mode on the
same rows), then downloads ``GET /reports/events?format=csv`` and ``?format=xlsx`` from
gunicorn (one sync worker) while sampling the worker's memory, checks the files, and times
the app's streaming functions in-process to show where the time goes. Prints
human-readable lines, then one JSON object with every figure as the last line. Exits 1 when a
download failed or a file is wrong, 0 otherwise (missed targets included).
"""

import argparse
import os
import re
import resource
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from _client import finish, read_token
from _reports_data import (
    Params,
    add_data_arguments,
    ensure_events,
    parse_data_args,
    today_utc,
)
from _services import (
    READ_SETTINGS,
    RESULTS,
    Database,
    app_environment,
    cpu_seconds,
    free_port,
    gunicorn,
    stop_on_signals,
    worker_pids,
)

DATABASE = "analytics_bench_export"
EXPORT_PATH = "/api/analytics/reports/events"
COPY_SQL = (
    "COPY (SELECT id, ts, user_id, type, src, payload::text FROM events ORDER BY ts)"
    " TO STDOUT WITH CSV"
)
HEADER = b"id,ts,user_id,type,src,payload\r\n"
FETCH_ROWS = 10_000
TARGETS = {
    "csv_vs_copy": 0.5,  # HTTP CSV rows/s ÷ COPY rows/s, at least
    "xlsx_vs_openpyxl": 0.9,  # HTTP XLSX rows/s ÷ openpyxl write-only rows/s, at least
    "peak_rss_mb": 150.0,  # the worker's peak resident memory during either export, under
}


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="events to generate/export")
    parser.add_argument(
        "--xlsx-rows",
        type=int,
        help="export about this many rows as XLSX (whole newest days; default: all of --rows)",
    )
    add_data_arguments(parser, DATABASE, seed=2)
    parser.add_argument(
        "--verify-rows",
        type=int,
        default=200_000,
        help="count XLSX rows through openpyxl up to this size; above, count <row> tags",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return parse_data_args(parser, argv)


def rate(rows, seconds):
    return round(rows / seconds) if seconds else 0


# --- the range the XLSX export covers ----------------------------------------------------------


def xlsx_range(connection, wanted, total):
    """The newest whole UTC days holding at least ``wanted`` events: ``(start, end, rows)``.

    ``(None, None, total)`` when ``wanted`` covers every event (the export then has no range).
    """
    if wanted is None or wanted >= total:
        return None, None, total
    per_day = connection.execute(
        "SELECT (ts AT TIME ZONE 'UTC')::date, count(*) FROM events GROUP BY 1 ORDER BY 1 DESC"
    ).fetchall()
    rows = 0
    for day, count in per_day:
        rows += count
        if rows >= wanted:
            return day, per_day[0][0], rows
    return None, None, total


# --- baselines ---------------------------------------------------------------------------------


def copy_rate(connection, sql, params=None):
    """Run a ``COPY … TO STDOUT``, discard the data; return (rows, seconds)."""
    rows = 0
    began = time.perf_counter()
    with connection.cursor() as cursor, cursor.copy(sql, params) as copy:
        for _ in copy:  # PostgreSQL sends one CopyData message per row
            rows += 1
    return rows, time.perf_counter() - began


def openpyxl_rate(connection, sql, params):
    """openpyxl's own write-only rate on the export rows: append and save time only.

    The rows come from a server-side cursor in batches; only ``append`` and ``save`` are on
    the clock, so database and driver time stay out of the figure.
    """
    from openpyxl import Workbook

    from analytics_app.reports.events import COLUMNS

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("events")
    sheet.append(COLUMNS)
    rows, seconds = 0, 0.0
    with connection.transaction(), connection.cursor(name="bench_export_rows") as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(FETCH_ROWS):
            began = time.perf_counter()
            for row in batch:
                sheet.append(row)
            seconds += time.perf_counter() - began
            rows += len(batch)
    with tempfile.TemporaryFile() as target:
        began = time.perf_counter()
        workbook.save(target)
        save_seconds = time.perf_counter() - began
    return rows, seconds + save_seconds, save_seconds


def export_query(lo, hi):
    """The app's own export query, compiled for psycopg: ``(sql, params)``."""
    from sqlalchemy.dialects import postgresql

    from analytics_app.reports.events import select_rows

    compiled = select_rows("postgresql", lo, hi).compile(
        dialect=postgresql.psycopg.dialect(), compile_kwargs={"render_postcompile": True}
    )
    return str(compiled), compiled.params


# --- downloads ---------------------------------------------------------------------------------


class PeakMemory:
    """The peak resident memory of a process while the block runs.

    The kernel's high-water mark (VmHWM) is reset on entry through ``clear_refs``, so it gives
    the exact peak; a 10 ms VmRSS sampler backs it up where the reset is not allowed.
    """

    def __init__(self, pid):
        self.pid = pid
        self.status = Path(f"/proc/{pid}/status")
        self.sampled_kb = 0
        self.reset = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _field_kb(self, name):
        for line in self.status.read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1])
        return 0

    def _sample(self):
        while not self._stop.wait(0.01):
            try:
                self.sampled_kb = max(self.sampled_kb, self._field_kb("VmRSS"))
            except FileNotFoundError:
                return

    def __enter__(self):
        self.before_kb = self._field_kb("VmRSS")
        try:
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")
            self.reset = True
        except OSError:
            pass
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        hwm = self._field_kb("VmHWM") if self.reset else 0
        self.peak_kb = max(hwm, self.sampled_kb)


def download(port, token, query, pids, sink):
    """GET an export with curl while watching the worker; return its figures.

    curl decodes the chunked body in C (a Python decoder took a third of a core for a million
    one-row chunks, on a machine whose two cores the server needs); its output is passed to
    ``sink`` in blocks.
    """
    worker, backends = pids
    command = [
        "curl",
        "--silent",
        "--show-error",
        "--header",
        f"Authorization: Bearer {token}",
        "--write-out",
        "%{stderr}%{http_code} %{time_starttransfer} %{time_total} %{size_download}",
        f"http://127.0.0.1:{port}{EXPORT_PATH}?{query}",
    ]
    worker_cpu, postgres_cpu = cpu_seconds([worker]), cpu_seconds(backends)
    client_cpu = time.process_time(), resource.getrusage(resource.RUSAGE_CHILDREN)
    with (
        PeakMemory(worker) as memory,
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as curl,
    ):
        while block := curl.stdout.read(1 << 20):
            sink(block)
        report = curl.stderr.read().decode()
    if curl.returncode != 0:
        raise RuntimeError(f"curl failed ({curl.returncode}): {report}")
    status, first_byte, total, size = report.split()[-4:]
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    curl_cpu = (
        children.ru_utime + children.ru_stime - client_cpu[1].ru_utime - client_cpu[1].ru_stime
    )
    return {
        "status": int(status),
        "seconds": round(float(total), 2),
        "first_byte_ms": round(float(first_byte) * 1e3, 1),
        "bytes": int(size),
        "rss_before_mb": round(memory.before_kb / 1024, 1),
        "peak_rss_mb": round(memory.peak_kb / 1024, 1),
        "peak_from": "VmHWM" if memory.reset else "VmRSS samples",
        "cpu_seconds": {
            "worker": round(cpu_seconds([worker]) - worker_cpu, 2),
            "postgres": round(cpu_seconds(backends) - postgres_cpu, 2),
            "client": round(time.process_time() - client_cpu[0] + curl_cpu, 2),
        },
    }


class CsvSink:
    """Counts lines and keeps the first bytes of a CSV body."""

    def __init__(self):
        self.lines = 0
        self.head = b""

    def __call__(self, data):
        self.lines += data.count(b"\n")
        if len(self.head) < 256:
            self.head += data[:256]


def count_sheet_rows(path):
    """Count ``<row`` elements in every worksheet of an .xlsx, streaming the XML."""
    total = 0
    pattern = re.compile(rb"<row[ >]")
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                carry = b""
                with archive.open(name) as sheet:
                    while block := sheet.read(1 << 20):
                        data = carry + block
                        total += len(pattern.findall(data))
                        carry = data[-4:]  # a tag split across blocks is counted once
                        total -= len(pattern.findall(carry))
    return total


def verify_xlsx(path, rows, verify_rows):
    """Open the file with openpyxl; check its header and row count; return the findings."""
    from openpyxl import load_workbook

    from analytics_app.reports.events import DEFAULT_LAYOUT

    expected = DEFAULT_LAYOUT.header(excel=True)  # the download's: times in UTC
    try:
        workbook = load_workbook(path, read_only=True)
    except Exception as error:  # whatever openpyxl makes of a broken file: a failed check
        return {"opened": False, "error": f"{type(error).__name__}: {error}", "ok": False}
    try:
        sheets = workbook.worksheets
        header = next(sheets[0].iter_rows(max_row=1, values_only=True))
        if rows <= verify_rows:
            counted = sum(1 for sheet in sheets for _ in sheet.iter_rows(values_only=True))
            method = "openpyxl iter_rows"
        else:
            counted = count_sheet_rows(path)
            method = "<row> tags in the sheet XML"
    finally:
        workbook.close()
    return {
        "opened": True,
        "sheets": len(sheets),
        "header_ok": tuple(header) == expected,
        "rows_counted": counted,
        "rows_expected": rows + len(sheets),  # one header per sheet
        "count_method": method,
        "ok": tuple(header) == expected and counted == rows + len(sheets),
    }


# --- in-process: where the time goes ----------------------------------------------------------


def inprocess(app, lo, hi):
    """Time the app's CSV stream and row stream without HTTP."""
    from analytics_app.exports import stream

    with app.app_context():
        lines, chunks = 0, 0
        began = time.perf_counter()
        for chunk in stream.csv_chunks():
            lines += chunk.count(b"\n")
            chunks += 1
        csv_seconds = time.perf_counter() - began
        rows = 0
        began = time.perf_counter()
        for _ in stream.rows(lo, hi):
            rows += 1
        rows_seconds = time.perf_counter() - began
    return {
        "csv_chunks_rows_s": rate(lines - 1, csv_seconds),
        "csv_chunks": chunks,
        "csv_rows": lines - 1,
        "stream_rows_rows_s": rate(rows, rows_seconds),
        "stream_rows": rows,
    }


# --- the run -----------------------------------------------------------------------------------


def backend_pids(connection):
    """The server processes of every other session on the bench database (the app's pool)."""
    rows = connection.execute(
        "SELECT pid FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
    ).fetchall()
    return [pid for (pid,) in rows]


def run(args, database, env, token):
    """Every measurement; return the JSON-able result."""
    from analytics_app import create_app
    from analytics_app.exports.request import ExportRequest
    from analytics_app.reports.events import copy_statement, select_rows
    from analytics_app.reports.periods import zone
    from analytics_app.reports.range import ReportRange

    today = today_utc()
    params = Params(args.rows, args.users, args.days, args.seed, today.isoformat())
    result = {"data": {**ensure_events(database, env, params, args.regenerate), "rows": args.rows}}
    with database.connect(autocommit=True) as connection:
        total = connection.execute("SELECT count(*) FROM events").fetchone()[0]
        start, end, xlsx_rows = xlsx_range(connection, args.xlsx_rows, total)
        span = ExportRequest("xlsx", ReportRange(zone("UTC"), start, end)).span()
        result["xlsx_range"] = {"start": start, "end": end, "rows": xlsx_rows}
        scope = f"the days {start}..{end}" if start else "every event"
        print(f"data: {total:,} events; the XLSX export covers {scope}: {xlsx_rows:,} rows")

        baselines = {}
        rows, seconds = copy_rate(connection, COPY_SQL)
        baselines["copy"] = _figures(rows, seconds)
        _line("baseline: COPY (SELECT … ORDER BY ts) TO STDOUT CSV", baselines["copy"])
        rows, seconds = copy_rate(connection, *copy_statement(select_rows("postgresql")))
        baselines["copy_app_query"] = _figures(rows - 1, seconds)  # less the header
        _line("reference: COPY of the app's export query", baselines["copy_app_query"])

        downloads = {}
        port, log = free_port(), RESULTS / "gunicorn-export.log"
        with gunicorn(env, log, port, options=["-k", "sync", "--timeout", "3600"]) as server:
            [worker] = worker_pids(server)
            pids = worker, backend_pids(connection)
            for format_ in ("csv", "xlsx"):  # load the code paths and open the pool
                download(port, token, f"format={format_}&start={today}&end={today}", pids, len)
            pids = worker, backend_pids(connection)

            sink = CsvSink()
            csv = download(port, token, "format=csv", pids, sink)
            csv.update(_figures(sink.lines - 1, csv["seconds"]), header_ok=sink.head[:32] == HEADER)
            downloads["csv"] = csv
            _line("our app: CSV over HTTP", csv)

            rows, seconds, save_seconds = openpyxl_rate(connection, *export_query(*span))
            baselines["openpyxl"] = {
                **_figures(rows, seconds),
                "save_seconds": round(save_seconds, 2),
            }
            _line("baseline: openpyxl write-only (append + save)", baselines["openpyxl"])

            with tempfile.NamedTemporaryFile(suffix=".xlsx") as body:
                query = "format=xlsx" + (f"&start={start}&end={end}" if start else "")
                xlsx = download(port, token, query, pids, body.write)
                body.flush()
                xlsx.update(_figures(xlsx_rows, xlsx["seconds"]))
                _line("our app: XLSX over HTTP", xlsx)
                began = time.perf_counter()
                xlsx["verify"] = verify_xlsx(body.name, xlsx_rows, args.verify_rows)
                xlsx["verify"]["seconds"] = round(time.perf_counter() - began, 1)
                print(f"verify XLSX: {xlsx['verify']}", flush=True)
            downloads["xlsx"] = xlsx
    profile = inprocess(create_app(env), *span)
    print(
        f"in-process: stream.csv_chunks {profile['csv_chunks_rows_s']:,} rows/s"
        f" ({profile['csv_chunks']:,} chunks for {profile['csv_rows']:,} rows);"
        f" stream.rows {profile['stream_rows_rows_s']:,} rows/s",
        flush=True,
    )
    checks = {
        "csv_status_200": downloads["csv"]["status"] == 200,
        "csv_rows_equal_events": downloads["csv"]["rows"] == total,
        "csv_header_ok": downloads["csv"]["header_ok"],
        "xlsx_status_200": downloads["xlsx"]["status"] == 200,
        "xlsx_opens_with_right_rows": downloads["xlsx"]["verify"]["ok"],
    }
    result.update(baselines=baselines, downloads=downloads, inprocess=profile, checks=checks)
    return result


def _figures(rows, seconds):
    return {"rows": rows, "seconds": round(seconds, 2), "rows_s": rate(rows, seconds)}


def _line(label, figures):
    extra = ""
    if "peak_rss_mb" in figures:
        cpu = figures["cpu_seconds"]
        extra = (
            f"; first byte {figures['first_byte_ms']:,.0f} ms, {figures['bytes'] / 2**20:,.1f} MiB;"
            f" worker RSS {figures['rss_before_mb']:.0f} MB"
            f" before, peak {figures['peak_rss_mb']:.0f} MB; CPU s worker {cpu['worker']},"
            f" postgres {cpu['postgres']}, client {cpu['client']}"
        )
    print(
        f"{label:<48} {figures['rows_s']:>9,} rows/s ({figures['rows']:,} rows in"
        f" {figures['seconds']:.2f} s){extra}",
        flush=True,
    )


def verdicts(result):
    """The targets, each with its figure and whether it is met."""
    baselines, downloads = result["baselines"], result["downloads"]
    measured = {
        "csv_vs_copy": round(downloads["csv"]["rows_s"] / baselines["copy"]["rows_s"], 3),
        "xlsx_vs_openpyxl": round(downloads["xlsx"]["rows_s"] / baselines["openpyxl"]["rows_s"], 3),
        "peak_rss_mb": max(downloads["csv"]["peak_rss_mb"], downloads["xlsx"]["peak_rss_mb"]),
    }
    met = {
        "csv_vs_copy": measured["csv_vs_copy"] >= TARGETS["csv_vs_copy"],
        "xlsx_vs_openpyxl": measured["xlsx_vs_openpyxl"] >= TARGETS["xlsx_vs_openpyxl"],
        "peak_rss_mb": measured["peak_rss_mb"] < TARGETS["peak_rss_mb"],
    }
    return measured, met


def main(argv=None):
    args = parse_args(argv)
    stop_on_signals()
    load_before = round(os.getloadavg()[0], 2)
    started = datetime.now(UTC)
    print(
        f"export bench {started:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, load average"
        f" {load_before:.2f}; {args.rows:,} events, gunicorn -w 1 sync",
        flush=True,
    )
    database = Database(args.postgres, args.database)
    secret = secrets.token_urlsafe(48)
    # The bench measures the Excel writer over HTTP: the direct download's row limit is lifted.
    no_limit = {"EXPORT_DIRECT_XLSX_ROWS": str(args.rows)}
    env = app_environment(database.url, secret, **READ_SETTINGS, **no_limit)
    try:
        result = run(args, database, env, read_token(secret))
    finally:
        if not args.keep:
            database.drop()
    measured, met = verdicts(result)
    labels = {
        "csv_vs_copy": ("CSV rows/s >= 0.5 x COPY rows/s", "x"),
        "xlsx_vs_openpyxl": ("XLSX rows/s >= 0.9 x openpyxl write-only rows/s", "x"),
        "peak_rss_mb": ("worker peak RSS < 150 MB, both formats", " MB"),
    }
    failed = [name for name, ok in result["checks"].items() if not ok]
    keys = ("rows", "xlsx_rows", "users", "days", "seed", "verify_rows")
    settings = {key: getattr(args, key) for key in keys}
    verdict = {"targets": TARGETS, "measured": measured, "targets_met": met}
    return finish(started, load_before, settings, result, verdict, labels, failed)


if __name__ == "__main__":
    sys.exit(main())
