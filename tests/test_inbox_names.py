"""Hostile names in the inbox neither escape the data folder nor overwrite anything."""

import os

import pytest

from onceonly.inbox import UnsafePathError, child_path, inbox_files, safe_name


def test_only_plain_files_with_ordinary_names_are_read(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "死亡登记_202601.xlsx").write_bytes(b"x")
    (inbox / ".hidden.csv").write_bytes(b"x")
    (inbox / "~$死亡登记_202601.xlsx").write_bytes(b"x")
    (inbox / "a\nb.csv").write_bytes(b"x")
    (inbox / ("a" * 220 + ".csv")).write_bytes(b"x")
    (inbox / "subfolder").mkdir()
    secret = tmp_path / "secret.csv"
    secret.write_text("outside the inbox")
    os.symlink(secret, inbox / "户籍人口_202601.csv")

    accepted, skipped = inbox_files(inbox)

    assert [p.name for p in accepted] == ["死亡登记_202601.xlsx"]
    reasons = sorted(s.reason for s in skipped)
    assert len(skipped) == 6
    assert any("symbolic link" in r for r in reasons)
    assert any("control or path characters" in r for r in reasons)
    assert all("\n" not in s.name_shown for s in skipped)


@pytest.mark.parametrize("hostile", ["../../etc/passwd", "..", "/etc/cron.d/x", "a/../../b",
                                     "..\\..\\windows", "\x00evil"])
def test_names_from_outside_stay_inside_their_folder(tmp_path, hostile):
    base = tmp_path / "reports"
    base.mkdir()
    path = child_path(base, hostile, "report.xlsx")
    assert base.resolve() in path.resolve().parents
    assert "/" not in safe_name(hostile) and "\\" not in safe_name(hostile)


def test_a_symlinked_folder_cannot_lead_outside(tmp_path):
    base = tmp_path / "reports"
    base.mkdir()
    os.symlink(tmp_path, base / "escape")
    with pytest.raises(UnsafePathError):
        child_path(base, "escape", "x.xlsx")


def test_ingestion_and_the_inbox_sensor_never_follow_a_link_out_of_the_inbox(tmp_path):
    import dagster as dg

    from onceonly.contracts import feed
    from onceonly.extracts.ingest import files_for, months_in_inbox
    from pipelines.inbox_sensor import inbox_arrivals

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    outside = tmp_path / "private.csv"
    outside.write_text("业务编号,公民身份号码\n1,2\n", encoding="utf-8")
    os.symlink(outside, inbox / "户籍迁移_202601.csv")
    (inbox / "户籍迁移_202602.csv\n").write_text("x", encoding="utf-8")
    moves = feed("household_moves")

    assert files_for(moves, moves.tables[0], inbox, "2026-01") == []
    assert months_in_inbox(inbox) == []
    os.environ["ONCEONLY_DATA_DIR"] = str(tmp_path)
    try:
        result = inbox_arrivals(dg.build_sensor_context())
    finally:
        del os.environ["ONCEONLY_DATA_DIR"]
    assert list(result.run_requests or []) == []
