"""Writing the extracts the way each department's system really produces them.

Every file is byte-identical for the same inputs: rows come in a fixed order, nothing reads the
clock, and workbooks carry a fixed creation time.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path

import xlsxwriter
import yaml

from .periods import Month, chinese_date

# TODO: read the contracts through importlib.resources once contracts/ ships as package data;
# this path works only from a source checkout.
_CONTRACTS = Path(__file__).resolve().parents[2] / "contracts" / "feeds"


@cache
def contract_headers(feed: str, schema: str | None = None) -> tuple[str, ...]:
    """The businessName of each column of a feed contract, in the contract's order."""
    path = _CONTRACTS / f"{feed}.yaml"
    if not path.exists():
        raise FileNotFoundError(
            f"The feed contract {path} is missing; the sample district writes its headers from it."
        )
    contract = yaml.safe_load(path.read_text(encoding="utf-8"))
    objects = contract["schema"]
    chosen = next(o for o in objects if schema is None or o["name"] == schema)
    return tuple(p["businessName"] for p in chosen["properties"])


@cache
def contract_sheet_name(feed: str, schema: str) -> str:
    """The sheetName custom property of one schema object of a feed contract."""
    contract = yaml.safe_load((_CONTRACTS / f"{feed}.yaml").read_text(encoding="utf-8"))
    chosen = next(o for o in contract["schema"] if o["name"] == schema)
    props = {p["property"]: p["value"] for p in chosen.get("customProperties", [])}
    return props["sheetName"]


def write_csv(
    path: Path,
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    encoding: str,
    crlf: bool,
) -> int:
    """Write a CSV and return the number of data rows.

    ``encoding`` is 'gb18030' (Windows "ANSI" Chinese), 'utf-8' (no BOM) or 'utf-8-sig' (with
    the BOM Excel writes for "CSV UTF-8").
    """
    count = 0
    with path.open("w", encoding=encoding, newline="", errors="strict") as f:
        writer = csv.writer(f, lineterminator="\r\n" if crlf else "\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def _workbook(path: Path, month: Month, *, constant_memory: bool = False) -> xlsxwriter.Workbook:
    workbook = xlsxwriter.Workbook(
        str(path), {"constant_memory": constant_memory, "strings_to_numbers": False}
    )
    # A fixed creation time keeps the file byte-identical from run to run.
    created = dt.datetime.combine(month.last + dt.timedelta(days=3), dt.time(9, 0))
    workbook.set_properties({"created": created, "author": "onceonly sample district"})
    return workbook


def write_death_workbook(
    path: Path, month: Month, rows: Sequence[Sequence[object]], filed_on: dt.date
) -> int:
    """The funeral office's workbook: title, filing row, a blank row, header on row 4.

    The death date is a true Excel date; the registration time is text; IDs are text.
    """
    header = contract_headers("death_registry")
    workbook = _workbook(path, month)
    sheet = workbook.add_worksheet("死亡登记")
    title = workbook.add_format({"bold": True, "align": "center", "font_size": 14})
    bold = workbook.add_format({"bold": True})
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})

    sheet.merge_range(
        0, 0, 0, len(header) - 1, f"杨浦区{month.year}年{month.month}月死亡登记信息", title
    )
    sheet.write_string(
        1, 0, f"填报单位：杨浦区民政局殡葬管理所    填报日期：{chinese_date(filed_on)}"
    )
    for col, name in enumerate(header):
        sheet.write_string(3, col, name, bold)
    for r, (record_id, name, id_number, sex, died, registered_at, place) in enumerate(rows, 4):
        sheet.write_string(r, 0, record_id)
        sheet.write_string(r, 1, name)
        sheet.write_string(r, 2, id_number)
        sheet.write_string(r, 3, sex)
        sheet.write_datetime(r, 4, dt.datetime.combine(died, dt.time()), date_format)
        sheet.write_string(r, 5, registered_at.strftime("%Y-%m-%d %H:%M:%S"))
        sheet.write_string(r, 6, place)
    sheet.set_column(0, 0, 18)
    sheet.set_column(2, 2, 22)
    sheet.set_column(4, 5, 20)
    workbook.close()
    return len(rows)


def write_aid_workbook(
    path: Path,
    month: Month,
    households: Sequence[Sequence[object]],
    members: Sequence[Sequence[object]],
) -> dict[str, int]:
    """The aid roster: sheets 救助家庭 and 家庭成员, each with a merged title and a blank row.

    IDs are text, the monthly amount is a number with two decimals, 纳入日期 is Chinese date text
    and members' birth dates are Excel dates.
    """
    workbook = _workbook(path, month)
    title = workbook.add_format({"bold": True, "align": "center", "font_size": 14})
    bold = workbook.add_format({"bold": True})
    money = workbook.add_format({"num_format": "0.00"})
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    counts = {}

    sheet_name = contract_sheet_name("social_aid", "aid_households")
    header = contract_headers("social_aid", "aid_households")
    sheet = workbook.add_worksheet(sheet_name)
    sheet.merge_range(
        0,
        0,
        0,
        len(header) - 1,
        f"杨浦区社会救助对象花名册（{sheet_name}）{month.year}年{month.month}月",
        title,
    )
    for col, name in enumerate(header):
        sheet.write_string(2, col, name, bold)
    for r, row in enumerate(households, 3):
        (
            case_no,
            applicant_id,
            applicant_name,
            aid_type,
            amount,
            size,
            code,
            sub,
            enrolled,
            status,
        ) = row
        sheet.write_string(r, 0, case_no)
        sheet.write_string(r, 1, applicant_id)
        sheet.write_string(r, 2, applicant_name)
        sheet.write_string(r, 3, aid_type)
        sheet.write_number(r, 4, amount, money)
        sheet.write_number(r, 5, size)
        sheet.write_string(r, 6, code)
        sheet.write_string(r, 7, sub)
        sheet.write_string(r, 8, chinese_date(enrolled))
        sheet.write_string(r, 9, status)
    counts[sheet_name] = len(households)

    sheet_name = contract_sheet_name("social_aid", "aid_members")
    header = contract_headers("social_aid", "aid_members")
    sheet = workbook.add_worksheet(sheet_name)
    sheet.merge_range(
        0,
        0,
        0,
        len(header) - 1,
        f"杨浦区社会救助对象花名册（{sheet_name}）{month.year}年{month.month}月",
        title,
    )
    for col, name in enumerate(header):
        sheet.write_string(2, col, name, bold)
    for r, (case_no, member_id, member_name, relation, counted, birth) in enumerate(members, 3):
        sheet.write_string(r, 0, case_no)
        sheet.write_string(r, 1, member_id)
        sheet.write_string(r, 2, member_name)
        sheet.write_string(r, 3, relation)
        sheet.write_string(r, 4, counted)
        sheet.write_datetime(r, 5, dt.datetime.combine(birth, dt.time()), date_format)
    counts[sheet_name] = len(members)
    workbook.close()
    return counts


def write_elderly_workbook(path: Path, month: Month, rows: Sequence[Sequence[object]]) -> int:
    """The elderly-services list: a plain header in row 1; the visit date is an Excel date."""
    header = contract_headers("elderly_services")
    workbook = _workbook(path, month, constant_memory=True)
    sheet = workbook.add_worksheet("养老服务对象")
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    for col, name in enumerate(header):
        sheet.write_string(0, col, name)
    for r, (id_number, name, living, care, visited, code) in enumerate(rows, 1):
        sheet.write_string(r, 0, id_number)
        sheet.write_string(r, 1, name)
        sheet.write_string(r, 2, living)
        sheet.write_string(r, 3, care)
        sheet.write_datetime(r, 4, dt.datetime.combine(visited, dt.time()), date_format)
        sheet.write_string(r, 5, code)
    workbook.close()
    return len(rows)
