"""Excel workbooks through openpyxl's write-only mode: memory stays flat however many rows.

Text goes into cells typed as text, so a spreadsheet shows it as stored and never runs it:
openpyxl would store a string starting with ``=`` as a formula, so those are typed by hand.
No apostrophe is needed, and ids match their source. Times are date-time cells.

A sheet holds at most 1,048,576 rows (header included), so longer exports continue on further
sheets, each with its own header. A cell holds at most 32,767 characters: longer text is cut
there and marked, since Excel would otherwise call the file corrupt.
"""

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from ..reports.events import COLUMNS

SHEET_ROWS = 1_048_576
CELL_CHARS = 32_767
TRUNCATED = "…[truncated]"
TEXT = "s"  # openpyxl's data type of a text cell


def _cell(sheet, value):
    """``value`` as the cell to append, when a plain value would not do."""
    if isinstance(value, str):
        if len(value) > CELL_CHARS:
            value = value[: CELL_CHARS - len(TRUNCATED)] + TRUNCATED
        if value.startswith("="):
            cell = WriteOnlyCell(sheet, value)
            cell.data_type = TEXT
            return cell
    return value


def write(rows, target, progress=None, sheet_rows=SHEET_ROWS, header=COLUMNS, title="events"):
    """Write rows (tuples in ``header`` order) to ``target`` (a path or binary file); return
    how many rows were written."""
    workbook = Workbook(write_only=True)
    sheet, used, sheets, written = None, sheet_rows, 0, 0
    for row in rows:
        if used == sheet_rows:
            sheets += 1
            sheet = workbook.create_sheet(title if sheets == 1 else f"{title} ({sheets})")
            sheet.append(header)
            used = 1
        sheet.append([_cell(sheet, value) for value in row])
        used += 1
        written += 1
        if progress and written % 10_000 == 0:
            progress(written)
    if sheet is None:
        workbook.create_sheet(title).append(header)
    workbook.save(target)
    return written
