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
import html
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import polars as pl

from onceonly.contracts import TableContract

HEADER_SEARCH_ROWS = 30
# Characters that surround or hide inside header cells without being seen.
_INVISIBLE = dict.fromkeys(map(ord, "\ufeff\u200b\u200c\u200d\u2060"), None)
_SPACES = re.compile(r"[\s\u00a0\u3000]+")
# Every character Python's str.strip() removes, for the same test in a column expression
# (none lies above U+3000).
_PY_WHITESPACE = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())


class ExtractRejected(Exception):
    """The whole file cannot be loaded; the message says what the sender should fix.

    When the header was found but is unusable, `header` holds what was found, so that the
    validation report can list missing, unexpected and aliased columns together.
    """

    def __init__(self, message: str, header: HeaderReport | None = None) -> None:
        super().__init__(message)
        self.header = header


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
    rows_below_header: int = 0  # every row of the file or sheet under the header
    blank_rows: int = 0  # of those, spacer rows with no value at all (no record in them)

    @property
    def rows_read(self) -> int:
        return self.frame.height

    def check_complete(self) -> None:
        """Fail loudly unless every non-blank row below the header became exactly one record."""
        if self.rows_read + self.blank_rows != self.rows_below_header:
            where = self.path.name + (f", sheet {self.sheet}" if self.sheet else "")
            raise RuntimeError(
                f"{where}: {self.rows_below_header} rows lie below the header, of which "
                f"{self.blank_rows} are blank, but {self.rows_read} records were read. This is a "
                "defect in onceonly, not in the file; report it with the file."
            )


def decode_text(data: bytes, file_name: str) -> tuple[str, str]:
    """Decode strictly: UTF-8 (a BOM stripped), then GB18030. Never lossy.

    GBK, GB2312, CP936 and Windows "ANSI" Chinese are all subsets of GB18030, so one strict
    GB18030 attempt covers every declared Chinese encoding.
    """
    try:
        text = data.decode("utf-8-sig")
        return text, "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
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


# A merged range as (first row, first column, last row, last column), 1-based like Excel.
MergedRange = tuple[int, int, int, int]


def _lookup(table: TableContract) -> dict[str, str]:
    lookup: dict[str, str] = {}
    for col in table.columns:
        for name in col.headers:
            lookup.setdefault(normalise_header(name), col.name)
    return lookup


def compose_two_row_header(rows: list[list[object]], index: int,
                           merges: tuple[MergedRange, ...]) -> list[str] | None:
    """Header names for row `index` (0-based) read together with the group row above it.

    A group cell merged across several columns over row `index` prefixes each name under it
    (户主信息 over 姓名 gives 户主信息_姓名); a cell merged down over both rows gives its one name
    to the column. Names come from merge ranges only: nothing is forward-filled, so a blank
    header cell outside a merge stays blank. None when no merge touches the row above.
    """
    if index == 0 or not merges:
        return None
    above, row = rows[index - 1], rows[index]
    width = max(len(above), len(row))
    names = [normalise_header(v) for v in list(row) + [None] * (width - len(row))]
    touched = False
    for top, left, bottom, right in merges:
        if top != index:  # `index` is 0-based, so the row above is row `index` in 1-based terms
            continue
        group = normalise_header(above[left - 1] if left - 1 < len(above) else None)
        if not group:
            continue
        for col in range(left - 1, min(right, width)):
            if bottom >= index + 1:
                names[col] = group
            elif right > left:
                names[col] = f"{group}_{names[col]}" if names[col] else group
            touched = True
    return names if touched else None


def match_header(candidates: list[list[object]], table: TableContract, where: str,
                 merges: tuple[MergedRange, ...] = ()) -> HeaderReport:
    """Find the header among the first rows: the row that names most of the contract's columns.

    Each row is tried as it stands and, when merged group cells sit above it, as the second row
    of a two-row header; the reading that names more contract columns wins.
    """
    lookup = _lookup(table)
    required = [c.name for c in table.columns if c.required]
    best_index, best_hits, best_names = -1, 0, None
    for index, row in enumerate(candidates):
        readings = [[normalise_header(v) for v in row]]
        composed = compose_two_row_header(candidates, index, merges)
        if composed is not None:
            readings.append(composed)
        for names in readings:
            hits = len({lookup[h] for h in names if h in lookup})
            if hits > best_hits or (hits == best_hits and hits and names is composed
                                    and index == best_index):
                best_index, best_hits, best_names = index, hits, names
    if best_index < 0 or best_hits < max(2, len(required) // 2):
        expected = "、".join(c.business_name for c in table.columns if c.required)
        raise ExtractRejected(
            f"{where}: no header row was found in the first {HEADER_SEARCH_ROWS} rows. The "
            f"{table.business_name} table needs the columns {expected}; check that the file is "
            "the right extract and that its header row names them. If the header shows as "
            "garbled text, the file's encoding is unknown: save it as UTF-8 and resend."
        )
    return _header_report(best_names, best_index + 1, table, lookup, where)


def _header_report(names: list[str], header_row: int, table: TableContract,
                   lookup: dict[str, str], where: str) -> HeaderReport:
    mapping: dict[int, str] = {}
    aliases_used: dict[str, str] = {}
    extra: list[tuple[int, str]] = []
    business = {normalise_header(c.business_name): c.name for c in table.columns}
    seen: dict[str, int] = {}
    for position, name in enumerate(names):
        if not name:
            continue
        canonical = lookup.get(name)
        key = canonical or name
        if key in seen:
            shown = table.column(canonical).business_name if canonical else name
            raise ExtractRejected(
                f"{where}: the header on row {header_row} names the column {shown} twice "
                f"(columns {_letters(seen[key])} and {_letters(position)}). Remove or rename the "
                "duplicate column and resend the file."
            )
        seen[key] = position
        if canonical is None:
            extra.append((position, name))
            continue
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


def _letters(position: int) -> str:
    """The Excel column letters of a 0-based position (0 -> A, 27 -> AB)."""
    letters = ""
    position += 1
    while position:
        position, rest = divmod(position - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def describe_header(report: HeaderReport, table: TableContract) -> list[str]:
    """The header findings in one list: missing, unexpected (kept) and aliased columns."""
    lines = []
    if report.missing_required:
        names = "、".join(table.column(n).business_name for n in report.missing_required)
        lines.append(f"required columns missing: {names}")
    if report.extra_columns:
        kept = "、".join(report.extra_columns)
        lines.append(f"columns not in the contract, kept as sent: {kept}")
    if report.aliases_used:
        pairs = "、".join(f"{alias} read as {table.column(c).business_name}"
                         for c, alias in report.aliases_used.items())
        lines.append(f"columns under another name: {pairs}")
    return lines


def check_header(report: HeaderReport, table: TableContract, where: str) -> None:
    """The first validation step: reject the file when required columns are missing.

    The message lists every header finding together, so the sender fixes them in one go.
    """
    if report.missing_required:
        findings = "; ".join(describe_header(report, table))
        raise ExtractRejected(
            f"{where}: the header on row {report.header_row} does not fit the "
            f"{table.business_name} contract ({findings}). Add the missing columns (or one of "
            "their usual names) and resend the file.",
            header=report,
        )


def _is_blank(row: list[object]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in row)


def _frame(rows: list[list[object]], first_row: int, report: HeaderReport,
           width: int) -> tuple[pl.DataFrame, int]:
    """Canonical columns as text, extra columns kept as `extra:<header>`, and row numbers.

    Returns the frame and the number of blank rows skipped.
    """
    columns: dict[str, list] = {name: [] for name in report.mapping.values()}
    extras = {pos: f"extra:{name}" for pos, name in report.extra_positions}
    for name in extras.values():
        columns[name] = []
    columns["_row_number"] = []
    blank = 0
    for offset, row in enumerate(rows):
        if _is_blank(row):
            blank += 1  # a spacer row carries no record; its row number is simply skipped
            continue
        padded = list(row) + [None] * (width - len(row))
        for pos, name in report.mapping.items():
            columns[name].append(padded[pos])
        for pos, name in extras.items():
            columns[name].append(padded[pos])
        columns["_row_number"].append(first_row + offset)
    data = {k: pl.Series(k, v, dtype=pl.Int64 if k == "_row_number" else pl.Utf8)
            for k, v in columns.items()}
    return pl.DataFrame(data), blank


def _unquoted_lines(text: str) -> pl.Series | None:
    """The records of a CSV text with no quote character, split as the csv module would.

    Without quotes a record is one line and a field never holds a comma, so the lines can be
    split as columns in one go; None when the text needs the csv module after all. Line ends
    are \\r\\n, \\n or a lone \\r, as for the csv module.
    """
    if '"' in text or "\x00" in text:
        return None
    lines = (
        pl.Series("line", [text], dtype=pl.Utf8)
        .str.replace_all("\r\n", "\n", literal=True)
        .str.replace_all("\r", "\n", literal=True)
        .str.split("\n")
        .explode()
    )
    if len(lines) and lines[-1] == "":
        lines = lines.head(len(lines) - 1)  # the last record's terminator, not an empty record
    return lines


def _frame_from_lines(lines: pl.Series, first_row: int, report: HeaderReport,
                      width: int) -> tuple[pl.DataFrame, int]:
    """What `_frame` makes of unquoted CSV lines, built with column expressions.

    A line is blank when every field is empty or whitespace, that is when the line without
    its commas is whitespace only.
    """
    line = pl.col("line")
    blank = line.str.replace_all(",", "", literal=True).str.strip_chars(_PY_WHITESPACE) == ""
    numbered = pl.DataFrame({"line": lines}).with_columns(
        (pl.int_range(pl.len(), dtype=pl.Int64) + first_row).alias("_row_number"),
        blank.alias("_blank"),
    )
    kept = numbered.filter(~pl.col("_blank"))
    names = {pos: name for pos, name in report.mapping.items()}
    names.update({pos: f"extra:{name}" for pos, name in report.extra_positions})
    parts = kept.select(line.str.split_exact(",", max(width - 1, 0)).struct.unnest(),
                        "_row_number")
    frame = parts.select([pl.col(f"field_{pos}").alias(name) for pos, name in names.items()]
                         + ["_row_number"])
    return frame, numbered.height - kept.height


def read_csv_table(path: Path, table: TableContract, staged: Path | None = None) -> RawTable:
    """Read a CSV extract strictly as text, finding its header by name.

    `staged` is the file's UTF-8 copy when landing has already made one: decoding a large
    GB18030 file once is enough. Its bytes are decoded as they are, with no newline
    translation, so the text is exactly what decoding the original gives.
    """
    if staged is not None and staged.exists():
        text, encoding = staged.read_bytes().decode("utf-8"), "utf-8"
    else:
        text, encoding = decode_text(path.read_bytes(), path.name)
    lines = _unquoted_lines(text)
    if lines is not None:
        head = [line.split(",") if line else []
                for line in lines.head(HEADER_SEARCH_ROWS).to_list()]
        report = match_header(head, table, path.name)
        check_header(report, table, path.name)
        commas = lines.filter(lines != "").str.count_matches(",", literal=True)
        width = int(commas.max()) + 1 if len(commas) else 0
        data_lines = lines[report.header_row:]
        frame, blank = _frame_from_lines(data_lines, report.header_row + 1, report, width)
        raw = RawTable(table, path, None, encoding, report, frame,
                       rows_below_header=len(data_lines), blank_rows=blank)
        raw.check_complete()
        return raw
    rows = list(csv.reader(io.StringIO(text, newline="")))
    report = match_header(rows[:HEADER_SEARCH_ROWS], table, path.name)
    check_header(report, table, path.name)
    width = max((len(r) for r in rows), default=0)
    data_rows = rows[report.header_row:]
    frame, blank = _frame(data_rows, report.header_row + 1, report, width)
    raw = RawTable(table, path, None, encoding, report, frame,
                   rows_below_header=len(data_rows), blank_rows=blank)
    raw.check_complete()
    return raw


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
    merges = merged_ranges(path, sheet_title)
    report = match_header(raw_rows[:HEADER_SEARCH_ROWS], table, where, merges)
    check_header(report, table, where)
    width = max((len(r) for r in raw_rows), default=0)
    data_rows = raw_rows[report.header_row:]
    numeric = _numeric_flags(data_rows, report, width)
    text_rows = [[_cell_text(v) for v in row] for row in data_rows]
    frame, blank = _frame(text_rows, report.header_row + 1, report, width)
    raw = RawTable(table, path, sheet_title, "xlsx", report, frame, numeric,
                   rows_below_header=len(data_rows), blank_rows=blank)
    raw.check_complete()
    return raw


_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)(\d+):([A-Z]+)(\d+)"')
_SHEET = re.compile(rb'<(?:\w+:)?sheet\b[^>]*?\bname="([^"]*)"[^>]*?\br:id="([^"]+)"')
_REL = re.compile(rb'<Relationship\b[^>]*?\bId="([^"]+)"[^>]*?\bTarget="([^"]+)"')
_REL_REVERSED = re.compile(rb'<Relationship\b[^>]*?\bTarget="([^"]+)"[^>]*?\bId="([^"]+)"')


def _column_number(letters: bytes) -> int:
    number = 0
    for ch in letters.decode():
        number = number * 26 + ord(ch) - 64
    return number


def merged_ranges(path: Path, sheet_title: str) -> tuple[MergedRange, ...]:
    """The merged cell ranges of one sheet, read straight from the workbook's XML.

    openpyxl's fast read-only mode does not report merges, and its full mode is too slow and
    memory-hungry for large extracts, so only the sheet's <mergeCell> elements are read.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            workbook_xml = archive.read("xl/workbook.xml")
            rels_xml = archive.read("xl/_rels/workbook.xml.rels")
            targets = {rid: target for rid, target in _REL.findall(rels_xml)}
            targets.update({rid: target for target, rid in _REL_REVERSED.findall(rels_xml)})
            title = html.escape(sheet_title, quote=True).encode()
            for name, rid in _SHEET.findall(workbook_xml):
                if name != title and html.unescape(name.decode()) != sheet_title:
                    continue
                target = targets.get(rid, b"").decode().lstrip("/")
                member = target if target.startswith("xl/") else f"xl/{target}"
                sheet_xml = archive.read(member)
                return tuple(
                    (int(r1), _column_number(c1), int(r2), _column_number(c2))
                    for c1, r1, c2, r2 in _MERGE.findall(sheet_xml)
                )
    except (KeyError, zipfile.BadZipFile):
        return ()
    return ()


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


def read_table(path: Path, table: TableContract, staged: Path | None = None) -> RawTable:
    """Read the part of an extract file that holds one contract table."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        return read_csv_table(path, table, staged)
    if suffix in (".xlsx", ".xlsm"):
        return read_excel_table(path, table)
    raise ExtractRejected(
        f"{path.name} is a {suffix or 'suffix-less'} file; extracts are accepted as .csv or .xlsx. "
        "Export the data as one of those and resend it."
    )
