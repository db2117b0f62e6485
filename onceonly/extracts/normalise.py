"""From raw text to typed, normalised rows, with every problem found in the file collected.

Rows that cannot be trusted are quarantined with a reason, never dropped and never silently
repaired. Rows whose ID fails only its check digit are loaded but listed for review, because a
typo must not cost a family its benefit and must not hide a death either.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from onceonly.contracts import Column, TableContract
from onceonly.extracts.reading import RawTable
from onceonly.extracts.schemas import POLARS_TYPES, validate_rows
from onceonly.extracts.values import (
    ValueProblem,
    parse_amount,
    parse_count,
    parse_date,
    parse_timestamp,
)
from onceonly.identity import _CHECK_CHARS, _WEIGHTS, IdStatus, _known_counties, mask_id, read_id

REJECT, REVIEW, WARNING = "reject", "review", "warning"
# Semantic types whose raw text is kept beside the cleaned value in the landing table.
RAW_KEPT = ("name", "address")
_SPACE_CHARS = " \t\r\n\u00a0\u3000\u200b\ufeff"
# The check character of an ID as the remainder it stands for (GB 11643).
_CHECK_VALUE = {ch: value for value, ch in enumerate(_CHECK_CHARS)}

# What the sender should do, per rule, in the words of the validation report.
FIXES = {
    "required_missing": "填写该必填项后重新报送",
    "id_missing": "填写公民身份号码后重新报送",
    "id_malformed": "核对身份证号码的位数和字符（18位，末位可为X）后重新报送",
    "id_corrupted_at_source": "该列被Excel存为数字，末几位已丢失（ID corrupted at source, resend "
    "as text）：请将该列设为文本格式，按原始号码重新报送",
    "id_bad_birth_date": "身份证号码中的出生日期不存在，请核对后重新报送",
    "id_bad_check_digit": "身份证号码校验位不符，可能有录入错误，请核对原始证件",
    "id_unknown_county": "号码前六位不是现行行政区划代码（可能为已撤销的旧区划），"
    "号码仍有效，无需处理",
    "date_ambiguous": "日期含义不明确（如只写年月、两位年份或被Excel存为小数），"
    "请写成2023-03-05格式",
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
    "value_out_of_range": "数值超出允许范围，请核对",
}

# The rules in the words of the validation report.
RULE_NAMES = {
    "required_missing": "必填项为空",
    "id_malformed": "身份证号码格式错误",
    "id_corrupted_at_source": "身份证号码在源文件中已损坏",
    "id_bad_birth_date": "身份证号码出生日期错误",
    "id_bad_check_digit": "身份证号码校验位错误（待核查）",
    "id_unknown_county": "身份证号码地区码非现行代码（提示）",
    "date_ambiguous": "日期含义不明确",
    "date_invalid": "日期不存在",
    "date_unreadable": "日期无法识别",
    "timestamp_unreadable": "时间无法识别",
    "number_unreadable": "数字无法识别",
    "count_not_whole": "不是整数",
    "count_negative": "为负数",
    "value_not_allowed": "不在规定选项内",
    "pattern_mismatch": "编码格式不符",
    "subdistrict_unknown": "街道代码不属于本区",
    "duplicate_key": "重复记录",
    "value_out_of_range": "数值超出范围",
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

    @property
    def rule_name(self) -> str:
        return RULE_NAMES.get(self.rule, self.rule)


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
    """Normalise every column by its semantic type, validate the rows, resolve duplicate keys.

    Two passes find problems: the normaliser reports values it cannot read (IDs, dates,
    numbers), then the contract's pandera schema checks every row lazily (required values,
    allowed values, patterns, subdistrict codes, quality rules). Both land in one list, one
    problem per cell; where both passes flag the same cell, the normaliser's more specific
    rule is kept.
    """
    frame = raw.frame
    rows = frame["_row_number"].to_list()
    problems: list[Problem] = []
    out: dict[str, pl.Series] = {"_row_number": frame["_row_number"]}
    changed = 0
    for column in raw.table.columns:
        if column.name not in frame.columns:
            dtype = POLARS_TYPES[column.logical_type]
            out[column.name] = pl.Series(column.name, [None] * frame.height, dtype=dtype)
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
    problems.extend(_schema_problems(typed, raw.table, rows, problems))
    rejected = {p.row_number for p in problems if p.severity == REJECT}
    typed = typed.filter(~pl.col("_row_number").is_in(list(rejected)))
    typed, duplicates = _resolve_duplicates(typed, raw.table)
    problems.extend(duplicates)
    rejected |= {p.row_number for p in duplicates}
    problems.sort(key=lambda p: (p.row_number, _column_order(raw.table, p.column)))
    return NormalisedTable(raw, typed, problems, rejected, changed)


def _column_order(table: TableContract, name: str) -> int:
    for position, column in enumerate(table.columns):
        if column.name == name:
            return position
    return len(table.columns)


def _schema_problems(typed: pl.DataFrame, table: TableContract, rows: list[int],
                     found: list[Problem]) -> list[Problem]:
    """The pandera findings as problems, leaving out cells the normaliser already reported."""
    contract_columns = [c.name for c in table.columns]
    seen = {(p.row_number, p.column) for p in found}
    problems = []
    for failure in validate_rows(typed.select(contract_columns), table):
        row = rows[failure.index]
        if (row, failure.column) in seen:
            continue
        seen.add((row, failure.column))
        column = table.column(failure.column)
        problems.append(Problem(row, column.name, column.business_name, failure.rule,
                                failure.severity, mask_value(column, failure.value)))
    return problems


def _normalise_column(column: Column, values: pl.Series, numeric: pl.Series | None,
                      rows: list[int]):
    """One column normalised by its semantic type: series, extra series, problems, changes.

    Each branch settles the common, already-clean values with column expressions and hands
    every other value to the same per-value reader as always, so the outcome is identical and
    only the time differs: a district's household register has over a million rows.
    """
    flags = (numeric.fill_null(False) if numeric is not None
             else pl.Series("numeric", [False] * len(values), dtype=pl.Boolean))
    problems: list[Problem] = []

    def problem(index: int, rule: str, severity: str, value: object) -> None:
        problems.append(Problem(rows[index], column.name, column.business_name, rule, severity,
                                mask_value(column, value)))

    if column.semantic == "id_number":
        series, extra, n_changed = _normalised_ids(column, values, flags, problem)
        return series, extra, problems, n_changed
    parser = _PARSERS.get(column.logical_type)
    if parser is not None:
        series = _parsed_values(column, values, flags, parser, problem)
        return series, {}, problems, 0
    series, extra, n_changed = _cleaned_text(column, values)
    return series, extra, problems, n_changed


def _clean_ids(values: pl.Series, flags: pl.Series) -> pl.Series:
    """True where a value is already a clean, valid 18-character ID of a current county.

    For such a value `read_id` would return the value itself with status valid, so it need
    not be read one by one; everything else (about one value in a thousand) still is.
    """
    frame = pl.DataFrame({"v": values, "n": flags})
    v = pl.col("v")
    # The first 17 digits as one integer (below 10**17, so it fits), its digits by arithmetic:
    # much cheaper than slicing the text seventeen times.
    number = v.str.slice(0, 17).str.to_integer(strict=False)
    check = sum((number // 10 ** (16 - i)) % 10 * w for i, w in enumerate(_WEIGHTS)) % 11
    last = v.str.slice(17, 1).replace_strict(_CHECK_VALUE, default=-1, return_dtype=pl.Int32)
    digits8 = v.str.slice(6, 8)
    birth = digits8.str.strptime(pl.Date, "%Y%m%d", strict=False)
    clean = (
        ~pl.col("n")
        & v.str.contains(r"^[0-9]{17}[0-9X]$")
        & (check == last)
        & v.str.slice(0, 6).is_in(sorted(_known_counties()))
        # The round trip rules out any date the parser reads more leniently than Python does.
        & (birth.dt.strftime("%Y%m%d") == digits8)
        & (birth.dt.year() >= 1800)
    )
    return frame.select(clean.fill_null(False).alias("clean")).to_series()


def _normalised_ids(column: Column, values: pl.Series, flags: pl.Series, problem):
    clean = _clean_ids(values, flags)
    cleaned = values.alias(column.name)
    statuses = pl.Series(f"{column.name}_status", [IdStatus.VALID.value] * len(values),
                         dtype=pl.Utf8)
    others = clean.not_().arg_true()
    n_changed = 0
    if len(others):
        raw_list = values.gather(others).to_list()
        flag_list = flags.gather(others).to_list()
        new_values, new_statuses = [], []
        cache: dict[tuple[object, bool], object] = {}
        for i, value, is_number in zip(others.to_list(), raw_list, flag_list, strict=True):
            key = (value, is_number)
            reading = cache.get(key)
            if reading is None:
                source = _as_number(value) if is_number and value is not None else value
                reading = cache[key] = read_id(source)
            status = reading.status
            # A missing ID is left to the schema's required check; here only unreadable ones.
            if status in (IdStatus.MALFORMED, IdStatus.CORRUPTED_AT_SOURCE,
                          IdStatus.BAD_BIRTH_DATE):
                problem(i, f"id_{status.value}", REJECT, value)
            elif status == IdStatus.BAD_CHECK_DIGIT:
                problem(i, "id_bad_check_digit", REVIEW, value)
            elif status == IdStatus.UNKNOWN_COUNTY:
                problem(i, "id_unknown_county", WARNING, value)
            new_values.append(reading.normalised)
            new_statuses.append(status.value)
            n_changed += reading.normalised is not None and reading.normalised != value
        cleaned = cleaned.scatter(others, pl.Series(new_values, dtype=pl.Utf8))
        statuses = statuses.scatter(others, pl.Series(new_statuses, dtype=pl.Utf8))
    extra = {f"{column.name}_raw": values.alias(f"{column.name}_raw"),
             f"{column.name}_status": statuses}
    return cleaned, extra, n_changed


def _parsed_values(column: Column, values: pl.Series, flags: pl.Series, parser, problem):
    """Dates, timestamps and numbers, each distinct (text, number cell) pair read once."""
    dtype = {"date": pl.Date, "timestamp": pl.Datetime("us"), "number": pl.Float64,
             "integer": pl.Int64}[column.logical_type]
    frame = pl.DataFrame({"v": values, "n": flags})
    distinct = frame.unique(maintain_order=True)
    parsed, rules = [], []
    for value, is_number in distinct.iter_rows():
        result = parser(value, is_number)
        unreadable = isinstance(result, ValueProblem)
        parsed.append(None if unreadable else result)
        rules.append(str(result) if unreadable else None)
    lookup = distinct.with_columns(pl.Series("parsed", parsed, dtype=dtype),
                                   pl.Series("rule", rules, dtype=pl.Utf8))
    joined = frame.join(lookup, on=["v", "n"], how="left", nulls_equal=True,
                        maintain_order="left")
    for i in joined["rule"].is_not_null().arg_true().to_list():
        problem(i, joined["rule"][i], REJECT, values[i])
    return joined["parsed"].alias(column.name)


def _cleaned_text(column: Column, values: pl.Series):
    """Free text trimmed; codes also folded to ASCII (NFKC), each distinct code once.

    Allowed values, patterns and required cells are the schema's business (schemas.py), so
    they are not checked here.
    """
    trimmed = values.str.strip_chars(_SPACE_CHARS)
    text = pl.select(pl.when(trimmed == "").then(None).otherwise(trimmed)).to_series()
    if column.semantic in ("code", "subdistrict_code", "enum", "period"):
        # NFKC leaves ASCII text as it is, so only codes with other characters are folded.
        distinct = text.drop_nulls().unique()
        unusual = distinct.filter(distinct.str.contains(r"[^\x00-\x7F]"))
        folded = {t: unicodedata.normalize("NFKC", t) for t in unusual}
        changed = {t: f for t, f in folded.items() if f != t}
        if changed:
            text = text.replace(changed)
    text = text.alias(column.name)
    differs = values.is_not_null() & text.ne_missing(values)
    extra = {}
    if column.semantic in RAW_KEPT:
        # The raw value is kept beside the clean one wherever cleaning changed it.
        extra[f"{column.name}_raw"] = pl.select(
            pl.when(differs).then(values).otherwise(None)).to_series().alias(f"{column.name}_raw")
    return text, extra, int(differs.sum())


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
    if not frame.select(pl.struct(key).is_duplicated().any()).item():
        return frame, []  # the usual case: rows stay as read, in file order
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
                detail=f"已由第{row['_kept_row']}行取代")
        for row in superseded.iter_rows(named=True)
    ]
    kept = ranked.filter(pl.col("_row_number") == pl.col("_kept_row")).drop("_copies", "_kept_row")
    return kept.sort("_row_number"), problems
