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


def _fit(value):
    if isinstance(value, str) and len(value) > CELL_CHARS:
        return value[: CELL_CHARS - len(TRUNCATED)] + TRUNCATED
    return value


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
        sheet.append([_fit(value) for value in row])
        used += 1
        written += 1
        if progress and written % 10_000 == 0:
            progress(written)
    if sheet is None:
        workbook.create_sheet("events").append(COLUMNS)
    workbook.save(target)
    return written
