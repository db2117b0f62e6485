"""`onceonly check FILE --feed NAME`: exit 0 clean, 1 rows would be quarantined, 2 rejected."""

import openpyxl
from typer.testing import CliRunner

from pipelines.cli import app

HEADER = "死亡登记编号,姓名,身份证号,死亡日期,登记时间"
GOOD = "D1,张三,11010119900307803X,2023-03-05,2023-03-06 09:00"
BAD_DATE = "D2,李四,310110198001011236,2023.3,2023-03-06 09:00"


def run_check(tmp_path, name: str, content: bytes):
    path = tmp_path / name
    path.write_bytes(content)
    result = CliRunner().invoke(app, ["check", str(path), "--feed", "death_registry",
                                      "--data-dir", str(tmp_path / "data")])
    return result, tmp_path / "data" / "reports" / "validation" / "checks" / (
        path.stem + "_校验报告.xlsx")


def test_clean_file_exits_0(tmp_path):
    result, report = run_check(tmp_path, "死亡登记_202303.csv", f"{HEADER}\n{GOOD}\n".encode())
    assert result.exit_code == 0, result.output
    assert "1 rows read, 1 would load, 0 would be quarantined" in result.output
    assert report.exists()
    assert not (tmp_path / "data" / "warehouse" / "onceonly.duckdb").exists()  # nothing loaded


def test_file_with_bad_rows_exits_1_and_report_lists_them(tmp_path):
    result, report = run_check(tmp_path, "死亡登记_202303.csv",
                               f"{HEADER}\n{GOOD}\n{BAD_DATE}\n".encode("gb18030"))
    assert result.exit_code == 1, result.output
    assert "  date_ambiguous: 1" in result.output
    assert "310110198001011236" not in result.output
    rows = list(openpyxl.load_workbook(report)["问题清单"].iter_rows(min_row=2, values_only=True))
    assert [(r[1], r[2], r[3]) for r in rows] == [(3, "死亡日期", "date_ambiguous")]


def test_rejected_file_exits_2(tmp_path):
    result, report = run_check(tmp_path, "死亡登记_202303.csv", b"\x80\x81\xff")
    assert result.exit_code == 2, result.output
    assert "rejected" in result.output and "offset" in result.output
    assert report.exists()
