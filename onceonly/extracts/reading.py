"""Reading department extracts as they really arrive.

CSV files are decoded strictly, UTF-8 first and GB18030 second (GB18030 accepts almost any byte
sequence, so trying it first would turn UTF-8 into plausible nonsense). The header row is found
by matching the contract's names and aliases, so title rows, 填报单位 rows and blank rows above
it do no harm. Every value is read as text: no type inference ever decides an ID or a code.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import polars as pl

from onceonly.contracts import TableContract

HEADER_SEARCH_ROWS = 30
# Characters that surround or hide inside header cells without being seen.
_INVISIBLE = dict.fromkeys(map(ord, "\ufeff\u200b\u200c\u200d\u2060"), None)
_SPACES = re.compile(r"[\s\u00a0\u3000]+")


class ExtractRejected(Exception):
    """The whole file cannot be loaded; the message says what the sender should fix."""


def normalise_header(text: object) -> str:
    """A header cell as it should be compared: no BOM, zero-width or inner spaces, NFKC."""
    if text is None:
        return ""
    cleaned = unicodedata.normalize("NFKC", str(text)).translate(_INVISIBLE)
    return _SPACES.sub("", cleaned)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(slots=True)
class HeaderReport:
    """How a file's header matched its contract."""

    header_row: int  # 1-based row number in the original file or sheet
    mapping: dict[int, str]  # source column position -> canonical column name
    aliases_used: dict[str, str]  # canonical name -> the alias found in the file
    missing_required: list[str]
    missing_optional: list[str]
    extra_columns: list[str]  # headers the contract does not know; kept, reported
    extra_positions: list[tuple[int, str]] = field(default_factory=list)


@dataclass(slots=True)
class RawTable:
    """One table read from a file: every cell as text, with its original row number."""

    table: TableContract
    path: Path
    sheet: str | None
    encoding: str
    header: HeaderReport
    frame: pl.DataFrame  # canonical columns (Utf8), `_row_number`, extra columns as `extra:<name>`
    numeric_cells: dict[str, pl.Series] = field(default_factory=dict)  # Excel number cells

    @property
    def rows_read(self) -> int:
        return self.frame.height


def decode_text(data: bytes, file_name: str) -> tuple[str, str]:
    """Decode strictly: UTF-8 (a BOM stripped), then GB18030. Never lossy.

    GBK, GB2312, CP936 and Windows "ANSI" Chinese are all subsets of GB18030, so one strict
    GB18030 attempt covers every declared Chinese encoding.
    """
    try:
        return data.decode("utf-8-sig"), "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as err:
        raise ExtractRejected(
            f"{file_name} is neither UTF-8 nor GB18030 text: the bytes at offset {err.start} "
            "cannot be decoded. Save the file again as UTF-8 (or as Chinese ANSI/GB18030) and "
            "resend it."
        ) from None


def match_header(candidates: list[list[object]], table: TableContract, where: str) -> HeaderReport:
    """Find the header among the first rows: the row that names most of the contract's columns."""
    lookup: dict[str, str] = {}
    for col in table.columns:
        for name in col.headers:
            lookup.setdefault(normalise_header(name), col.name)
    required = [c.name for c in table.columns if c.required]
    best_index, best_hits = -1, 0
    for index, row in enumerate(candidates):
        hits = len({lookup[h] for h in map(normalise_header, row) if h in lookup})
        if hits > best_hits:
            best_index, best_hits = index, hits
    if best_index < 0 or best_hits < max(2, len(required) // 2):
        expected = "、".join(c.business_name for c in table.columns if c.required)
        raise ExtractRejected(
            f"{where}: no header row was found in the first {HEADER_SEARCH_ROWS} rows. The "
            f"{table.business_name} table needs the columns {expected}; check that the file is the "
            "right extract and that its header row names them. If the header shows as garbled "
            "text, the file's encoding is unknown: save it as UTF-8 and resend."
        )
    return _header_report(candidates[best_index], best_index + 1, table, lookup, where)


def _header_report(row, header_row, table, lookup, where) -> HeaderReport:
    mapping: dict[int, str] = {}
    aliases_used: dict[str, str] = {}
    extra: list[tuple[int, str]] = []
    business = {normalise_header(c.business_name): c.name for c in table.columns}
    for position, cell in enumerate(row):
        name = normalise_header(cell)
        if not name:
            continue
        canonical = lookup.get(name)
        if canonical is None:
            extra.append((position, name))
            continue
        if canonical in mapping.values():
            raise ExtractRejected(
                f"{where}: the header names the column {table.column(canonical).business_name} "
                "twice. Remove or rename the duplicate column and resend the file."
            )
        mapping[position] = canonical
        if name not in business:
            aliases_used[canonical] = name
    found = set(mapping.values())
    missing_required = [c.name for c in table.columns if c.required and c.name not in found]
    missing_optional = [c.name for c in table.columns if not c.required and c.name not in found]
    return HeaderReport(
        header_row, mapping, aliases_used, missing_required, missing_optional,
        [name for _, name in extra], extra,
    )


def _reject_missing(report: HeaderReport, table: TableContract, where: str) -> None:
    if report.missing_required:
        names = "、".join(table.column(n).business_name for n in report.missing_required)
        raise ExtractRejected(
            f"{where}: the required columns {names} are missing from the header on row "
            f"{report.header_row}. Add them (or their usual names) and resend the file."
        )


def _frame(rows: list[list[object]], first_row: int, report: HeaderReport,
           width: int) -> pl.DataFrame:
    """Canonical columns as text, extra columns kept as `extra:<header>`, and row numbers."""
    columns: dict[str, list] = {name: [] for name in report.mapping.values()}
    extras = {pos: f"extra:{name}" for pos, name in report.extra_positions}
    for name in extras.values():
        columns[name] = []
    columns["_row_number"] = []
    for offset, row in enumerate(rows):
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in row):
            continue  # a blank spacer row carries no record; its row number is simply skipped
        padded = list(row) + [None] * (width - len(row))
        for pos, name in report.mapping.items():
            columns[name].append(padded[pos])
        for pos, name in extras.items():
            columns[name].append(padded[pos])
        columns["_row_number"].append(first_row + offset)
    data = {k: pl.Series(k, v, dtype=pl.Int64 if k == "_row_number" else pl.Utf8)
            for k, v in columns.items()}
    return pl.DataFrame(data)


def read_csv_table(path: Path, table: TableContract) -> RawTable:
    """Read a CSV extract strictly as text, finding its header by name."""
    text, encoding = decode_text(path.read_bytes(), path.name)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    report = match_header(rows[:HEADER_SEARCH_ROWS], table, path.name)
    _reject_missing(report, table, path.name)
    width = max((len(r) for r in rows), default=0)
    data_rows = rows[report.header_row:]
    frame = _frame(data_rows, report.header_row + 1, report, width)
    return RawTable(table, path, None, encoding, report, frame)


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def read_excel_table(path: Path, table: TableContract) -> RawTable:
    """Read one sheet of a workbook as text, finding its header by name.

    Number cells are remembered separately: an ID held as a number has already lost digits,
    and a date held as a number is an Excel serial.
    """
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as err:  # openpyxl raises many types for a damaged file
        raise ExtractRejected(
            f"{path.name} cannot be opened as an Excel workbook ({type(err).__name__}). Save it "
            "again from Excel or WPS as .xlsx and resend it."
        ) from None
    try:
        if table.sheet_name:
            if table.sheet_name not in workbook.sheetnames:
                raise ExtractRejected(
                    f"{path.name} has no sheet named {table.sheet_name}; its sheets are "
                    f"{'、'.join(workbook.sheetnames)}. Rename the sheet and resend the file."
                )
            sheet = workbook[table.sheet_name]
        else:
            sheet = workbook.worksheets[0]
        raw_rows = [list(r) for r in sheet.iter_rows(values_only=True)]
        sheet_title = sheet.title
    finally:
        workbook.close()
    where = f"{path.name}, sheet {sheet_title}"
    report = match_header(raw_rows[:HEADER_SEARCH_ROWS], table, where)
    _reject_missing(report, table, where)
    width = max((len(r) for r in raw_rows), default=0)
    data_rows = raw_rows[report.header_row:]
    numeric = _numeric_flags(data_rows, report, width)
    text_rows = [[_cell_text(v) for v in row] for row in data_rows]
    frame = _frame(text_rows, report.header_row + 1, report, width)
    return RawTable(table, path, sheet_title, "xlsx", report, frame, numeric)


def _numeric_flags(rows, report, width) -> dict[str, pl.Series]:
    flags: dict[str, list[bool]] = {name: [] for name in report.mapping.values()}
    for row in rows:
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in row):
            continue
        padded = list(row) + [None] * (width - len(row))
        for pos, name in report.mapping.items():
            value = padded[pos]
            flags[name].append(isinstance(value, int | float) and not isinstance(value, bool))
    return {name: pl.Series(name, values, dtype=pl.Boolean) for name, values in flags.items()}


def read_table(path: Path, table: TableContract) -> RawTable:
    """Read the part of an extract file that holds one contract table."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        return read_csv_table(path, table)
    if suffix in (".xlsx", ".xlsm"):
        return read_excel_table(path, table)
    raise ExtractRejected(
        f"{path.name} is a {suffix or 'suffix-less'} file; extracts are accepted as .csv or .xlsx. "
        "Export the data as one of those and resend it."
    )
