"""From raw text to typed, normalised rows, with every problem found in the file collected.

Rows that cannot be trusted are quarantined with a reason, never dropped and never silently
repaired. Rows whose ID fails only its check digit are loaded but listed for review, because a
typo must not cost a family its benefit and must not hide a death either.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from onceonly.contracts import Column, TableContract
from onceonly.extracts.reading import RawTable
from onceonly.extracts.values import (
    ValueProblem,
    clean_text,
    parse_amount,
    parse_count,
    parse_date,
    parse_timestamp,
)
from onceonly.identity import IdStatus, mask_id, read_id
from onceonly.reference import subdistrict_names

REJECT, REVIEW, WARNING = "reject", "review", "warning"
_SPACE_CHARS = " \t\r\n\u00a0\u3000\u200b\ufeff"

# What the sender should do, per rule, in the words of the validation report.
FIXES = {
    "required_missing": "填写该必填项后重新报送",
    "id_missing": "填写公民身份号码后重新报送",
    "id_malformed": "核对身份证号码的位数和字符（18位，末位可为X）后重新报送",
    "id_corrupted_at_source": "该列被Excel存为数字，末几位已丢失：请将该列设为文本格式，按原始号码重新报送",
    "id_bad_birth_date": "身份证号码中的出生日期不存在，请核对后重新报送",
    "id_bad_check_digit": "身份证号码校验位不符，可能有录入错误，请核对原始证件",
    "id_unknown_county": "号码前六位不是现行行政区划代码（可能为已撤销的旧区划），号码仍有效，无需处理",
    "date_ambiguous": "日期含义不明确（如只写年月、两位年份或被Excel存为小数），请写成2023-03-05格式",
    "date_invalid": "日期不存在，请核对",
    "date_unreadable": "无法识别的日期写法，请写成2023-03-05格式",
    "timestamp_unreadable": "无法识别的时间写法，请写成2023-03-05 14:30:00格式",
    "number_unreadable": "应填写数字",
    "count_not_whole": "应填写整数",
    "count_negative": "不能为负数",
    "value_not_allowed": "请从规定的选项中选择",
    "pattern_mismatch": "编码格式不符，请核对位数（前导0不可省略）",
    "subdistrict_unknown": "街道代码不是本区的街道，请核对",
    "duplicate_key": "同一记录在文件中出现多次，已保留变更日期最新的一条，请核对",
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem with one cell, ready for the quarantine table and the validation report."""

    row_number: int
    column: str  # canonical name
    business_name: str
    rule: str
    severity: str
    masked_value: str
    detail: str = ""

    @property
    def fix(self) -> str:
        return FIXES.get(self.rule, "请核对后重新报送")


@dataclass(slots=True)
class NormalisedTable:
    """The rows that load, and everything found wrong with the others."""

    raw: RawTable
    loaded: pl.DataFrame
    problems: list[Problem] = field(default_factory=list)
    quarantined_rows: set[int] = field(default_factory=set)
    cells_changed: int = 0

    @property
    def rows_read(self) -> int:
        return self.raw.rows_read

    @property
    def rows_loaded(self) -> int:
        return self.loaded.height

    @property
    def rows_quarantined(self) -> int:
        return len(self.quarantined_rows)

    def reconciles(self) -> bool:
        return self.rows_read == self.rows_loaded + self.rows_quarantined


def mask_value(column: Column, value: object) -> str:
    """The value as it may be shown in a report or a log: PII masked by its class."""
    if value is None:
        return ""
    text = str(value)
    if column.pii == "pii-id":
        return mask_id(clean_id_for_mask(text))
    if column.pii == "pii-name":
        return text[:1] + "*" * max(len(text) - 1, 1)
    if column.pii == "pii-address":
        return "***"
    return text[:40]


def clean_id_for_mask(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip(_SPACE_CHARS)


def normalise_table(raw: RawTable) -> NormalisedTable:
    """Normalise every column by its semantic type, collect problems, resolve duplicate keys."""
    frame = raw.frame
    rows = frame["_row_number"].to_list()
    problems: list[Problem] = []
    out: dict[str, pl.Series] = {"_row_number": frame["_row_number"]}
    changed = 0
    for column in raw.table.columns:
        if column.name not in frame.columns:
            out[column.name] = pl.Series(column.name, [None] * frame.height, dtype=pl.Utf8)
            continue
        values = frame[column.name]
        numeric = raw.numeric_cells.get(column.name)
        series, extra, column_problems, n_changed = _normalise_column(column, values, numeric, rows)
        out[column.name] = series
        out.update(extra)
        problems.extend(column_problems)
        changed += n_changed
    for name in frame.columns:
        if name.startswith("extra:"):
            out[name] = frame[name]
    typed = pl.DataFrame(out)
    rejected = {p.row_number for p in problems if p.severity == REJECT}
    typed = typed.filter(~pl.col("_row_number").is_in(list(rejected)))
    typed, duplicates = _resolve_duplicates(typed, raw.table)
    problems.extend(duplicates)
    rejected |= {p.row_number for p in duplicates}
    return NormalisedTable(raw, typed, problems, rejected, changed)


def _normalise_column(column: Column, values: pl.Series, numeric: pl.Series | None,
                      rows: list[int]):
    raw_list = values.to_list()
    numeric_list = numeric.to_list() if numeric is not None else [False] * len(raw_list)
    problems: list[Problem] = []
    extra: dict[str, pl.Series] = {}

    def problem(index: int, rule: str, severity: str, value: object) -> None:
        problems.append(Problem(rows[index], column.name, column.business_name, rule, severity,
                                mask_value(column, value)))

    if column.semantic == "id_number":
        cleaned, statuses, n_changed = [], [], 0
        cache: dict[tuple[object, bool], object] = {}
        for i, (value, is_number) in enumerate(zip(raw_list, numeric_list, strict=True)):
            key = (value, is_number)
            reading = cache.get(key)
            if reading is None:
                source = _as_number(value) if is_number and value is not None else value
                reading = cache[key] = read_id(source)
            status = reading.status
            if status == IdStatus.MISSING:
                if column.required:
                    problem(i, "required_missing", REJECT, value)
            elif status in (IdStatus.MALFORMED, IdStatus.CORRUPTED_AT_SOURCE,
                            IdStatus.BAD_BIRTH_DATE):
                problem(i, f"id_{status.value}", REJECT, value)
            elif status == IdStatus.BAD_CHECK_DIGIT:
                problem(i, "id_bad_check_digit", REVIEW, value)
            elif status == IdStatus.UNKNOWN_COUNTY:
                problem(i, "id_unknown_county", WARNING, value)
            cleaned.append(reading.normalised)
            statuses.append(status.value)
            n_changed += reading.normalised is not None and reading.normalised != value
        extra[f"{column.name}_raw"] = values.alias(f"{column.name}_raw")
        extra[f"{column.name}_status"] = pl.Series(f"{column.name}_status", statuses, pl.Utf8)
        return pl.Series(column.name, cleaned, pl.Utf8), extra, problems, n_changed

    parser = _PARSERS.get(column.logical_type)
    if parser is not None:
        parsed, n_changed = [], 0
        for i, (value, is_number) in enumerate(zip(raw_list, numeric_list, strict=True)):
            result = parser(value, is_number)
            if isinstance(result, ValueProblem):
                problem(i, str(result), REJECT, value)
                result = None
            elif result is None and column.required:
                problem(i, "required_missing", REJECT, value)
            parsed.append(result)
        dtype = {"date": pl.Date, "timestamp": pl.Datetime("us"), "number": pl.Float64,
                 "integer": pl.Int64}[column.logical_type]
        return pl.Series(column.name, parsed, dtype), extra, problems, n_changed

    cleaned_list = []
    n_changed = 0
    pattern = re.compile(column.pattern) if column.pattern else None
    known_subdistricts = subdistrict_names()
    for i, value in enumerate(raw_list):
        text = clean_text(value)
        if text is not None and column.semantic in ("code", "subdistrict_code", "enum", "period"):
            text = unicodedata.normalize("NFKC", text)
        n_changed += text != value and value is not None
        if text is None:
            if column.required:
                problem(i, "required_missing", REJECT, value)
        elif column.allowed and text not in column.allowed:
            problem(i, "value_not_allowed", REJECT, value)
        elif pattern is not None and not pattern.match(text):
            problem(i, "pattern_mismatch", REJECT, value)
        elif column.semantic == "subdistrict_code" and text not in known_subdistricts:
            problem(i, "subdistrict_unknown", REJECT, value)
        cleaned_list.append(text)
    if column.semantic in ("name", "address", "text") and n_changed:
        extra[f"{column.name}_raw"] = values.alias(f"{column.name}_raw")
    return pl.Series(column.name, cleaned_list, pl.Utf8), extra, problems, n_changed


def _as_number(text: str) -> int | float:
    number = float(text)
    return int(number) if number.is_integer() else number


_PARSERS: dict[str, Callable[[str | None, bool], object]] = {
    "date": lambda v, n: parse_date(v, n),
    "timestamp": lambda v, n: parse_timestamp(v),
    "number": lambda v, n: parse_amount(v),
    "integer": lambda v, n: parse_count(v),
}


def _resolve_duplicates(frame: pl.DataFrame, table: TableContract):
    """The same key twice: the latest change date wins, then the later row in the file."""
    key = list(table.primary_key)
    if not key or frame.is_empty():
        return frame, []
    order = ["change_date", "_row_number"] if "change_date" in frame.columns else ["_row_number"]
    ranked = frame.sort(order, nulls_last=False).with_columns(
        pl.len().over(key).alias("_copies"),
        pl.col("_row_number").last().over(key).alias("_kept_row"),
    )
    superseded = ranked.filter(pl.col("_row_number") != pl.col("_kept_row"))
    first_key = table.column(key[0])
    problems = [
        Problem(row["_row_number"], first_key.name, first_key.business_name, "duplicate_key",
                REJECT, mask_value(first_key, row[first_key.name]),
                detail=f"superseded by row {row['_kept_row']}")
        for row in superseded.iter_rows(named=True)
    ]
    kept = ranked.filter(pl.col("_row_number") == pl.col("_kept_row")).drop("_copies", "_kept_row")
    return kept.sort("_row_number"), problems


def dates_only(values: list[object]) -> list[dt.date | None]:
    """Drop the time part of datetimes (used where a DATE must not carry a zone shift)."""
    return [v.date() if isinstance(v, dt.datetime) else v for v in values]
