"""Excel workbooks through openpyxl's write-only mode: memory stays flat however many rows.

A sheet holds at most 1,048,576 rows (header included), so longer exports continue on further
sheets, each with its own header. A cell holds at most 32,767 characters: longer payload text
is cut there and marked, since Excel would otherwise call the file corrupt.
"""

from openpyxl import Workbook

from ..reports.events import COLUMNS

SHEET_ROWS = 1_048_576
CELL_CHARS = 32_767
TRUNCATED = "…[truncated]"


PAYLOAD = COLUMNS.index("payload")


def _fit(row):
    """The row, its payload cut to Excel's cell limit (the only column that can exceed it)."""
    payload = row[PAYLOAD]
    if payload is None or len(payload) <= CELL_CHARS:
        return row
    row = list(row)
    row[PAYLOAD] = payload[: CELL_CHARS - len(TRUNCATED)] + TRUNCATED
    return row


def write(rows, target, progress=None, sheet_rows=SHEET_ROWS):
    """Write rows (tuples in ``COLUMNS`` order) to ``target`` (a path or binary file)."""
    workbook = Workbook(write_only=True)
    sheet, used, sheets, written = None, sheet_rows, 0, 0
    for row in rows:
        if used == sheet_rows:
            sheets += 1
            sheet = workbook.create_sheet("events" if sheets == 1 else f"events ({sheets})")
            sheet.append(COLUMNS)
            used = 1
        sheet.append(_fit(row))
        used += 1
        written += 1
        if progress and written % 10_000 == 0:
            progress(written)
    if sheet is None:
        workbook.create_sheet("events").append(COLUMNS)
    workbook.save(target)
    return written
