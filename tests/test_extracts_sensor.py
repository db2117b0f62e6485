"""The inbox sensor keys files on their content hash, never on their modification time."""

import json
import os

import dagster as dg

from onceonly.extracts.reading import sha256_of
from pipelines.inbox_sensor import inbox_arrivals

HEADER = "死亡登记编号,姓名,身份证号,死亡日期,登记时间\n"


def evaluate(cursor):
    context = dg.build_sensor_context(cursor=cursor)
    result = inbox_arrivals(context)
    return result.run_requests, result.cursor


def test_new_identical_and_corrected_files(tmp_path, monkeypatch):
    monkeypatch.setenv("ONCEONLY_DATA_DIR", str(tmp_path))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    path = inbox / "死亡登记_202303.csv"
    path.write_text(HEADER + "D1,张三,11010119900307803X,2023-03-05,2023-03-06 09:00\n",
                    encoding="utf-8")
    (inbox / "说明.txt").write_text("no feed", encoding="utf-8")

    requests, cursor = evaluate(None)
    assert len(requests) == 1
    (first,) = requests
    assert first.partition_key == "2023-03"
    assert first.asset_selection == [dg.AssetKey(["landing", "death_registry"])]
    assert first.run_key == f"死亡登记_202303.csv:{sha256_of(path)}"
    assert json.loads(cursor) == {"死亡登记_202303.csv": first.run_key.split(":")[1]}

    # The same content uploaded again (with a fresh mtime): nothing is requested.
    path.write_bytes(path.read_bytes())
    requests, cursor_again = evaluate(cursor)
    assert requests == [] and cursor_again == cursor

    # A corrected file under the same name, with an mtime from 2022: a new request.
    path.write_text(HEADER + "D1,张三,11010119900307803X,2023-03-04,2023-03-06 09:00\n",
                    encoding="utf-8")
    os.utime(path, (1_650_000_000, 1_650_000_000))
    requests, cursor_after = evaluate(cursor)
    (corrected,) = requests
    assert corrected.run_key == f"死亡登记_202303.csv:{sha256_of(path)}" != first.run_key
    assert corrected.tags["onceonly/replaces_sha256"] == first.run_key.split(":")[1]
    assert json.loads(cursor_after)["死亡登记_202303.csv"] == corrected.run_key.split(":")[1]


def test_sensor_is_in_the_code_location():
    from pipelines.definitions import defs

    assert defs.resolve_sensor_def("inbox_arrivals").name == "inbox_arrivals"
