"""`nianbao run`: lossless routing, idempotence, resubmission, duplicates, intake rules, status, JSON."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import random
import re
import shutil
import sqlite3
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from processor.archive import LEDGER_FILE, LOCK_FILE
from processor.batch import TIDY_MARK
from processor.cli import app
from processor.cli.run import _ASCII, indented_json
from processor.demo import report_values
from processor.ledger import Ledger
from processor.roster import roster_csv
from processor.spec import get_spec
from tests.workbooks import fill_template, needs_soffice, roundtrip

runner = CliRunner()
YEAR = 2025
UNITS = [
    ("云溪市教育局", "市直部门", "市教育局"),
    ("云溪市财政局", "市直部门", ""),
    ("云溪市公安局", "市直部门", ""),
    ("西山县人民政府", "西山县", "西山县政府"),
]
BROKEN_E1 = {"s3.r1.c1": 5, "s3.r2.c1": 0, "s3.r3_1.c1": 4, "s3.r3_2.c1": 0, "s3.r3_5_1.c1": 0, "s3.r4.c1": 0}


# ---- helpers (also used by the crash and watch tests) ----------------------------------------


def city(tmp_path: Path, *, stable: float = 0.05, units=UNITS, **settings: Any) -> Path:
    """A working folder with inbox/, outbox/, 名册.csv and nianbao.toml; returns nianbao.toml."""
    (tmp_path / "inbox").mkdir(exist_ok=True)
    rows = [["单位名称", "单位代码", "所属分组", "别名"], *[[n, "", g, a] for n, g, a in units]]
    (tmp_path / "名册.csv").write_text(roster_csv(rows), encoding="utf-8")
    conf = {"year": YEAR, "stable_seconds": stable, "max_wait_seconds": 5, "workers": 1, "lock_wait_seconds": 1}
    conf.update(settings)
    lines = ['inbox = "inbox"', 'outbox = "outbox"', 'roster = "名册.csv"']
    lines += [f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in conf.items()]
    path = tmp_path / "nianbao.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def values(seed: int = 0, **changes: Any) -> dict[str, Any]:
    """A complete, consistent set of figures (every input typed, 0 where nothing happened)."""
    spec = get_spec("2021")
    v: dict[str, Any] = {code: 0 for code, cell in spec.cells.items() if not cell.is_total}
    v.update(report_values(random.Random(seed), {}, {}))
    v.update(changes)
    return {k: float(x) if isinstance(x, Decimal) else x for k, x in v.items()}


def report(path: Path, agency: str, *, year: int = YEAR, seed: int = 0, mtime: float | None = None, **kw: Any) -> Path:
    """Our template filled as an agency would (clean unless told otherwise)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    v = kw.pop("values", None)
    fill_template(path, year=year, agency=agency, values=values(seed, **(v or {})), **kw)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def run(config: Path, *args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["run", "--config", str(config), "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def outbox_hashes(outbox: Path) -> set[str]:
    return {sha(p) for p in outbox.rglob("*") if p.is_file()}


def ledger_rows(outbox: Path) -> list[tuple]:
    with sqlite3.connect(outbox / LEDGER_FILE) as db:
        return db.execute(
            "SELECT id, sha256, original_name, state, status, unit, superseded_by, duplicate_of, archive_path, "
            "feedback_path FROM files ORDER BY id"
        ).fetchall()


def counted_value(outbox: Path, unit: str, code: str = "s2_5.r1.c1", year: int = YEAR) -> list[str]:
    """The value(s) of a cell over the unit's submissions that count (there must be exactly one)."""
    with Ledger(outbox / LEDGER_FILE, readonly=True) as ledger:
        rows = [r for r in ledger.files(year) if r.unit == unit and r.counted]
        return [str(ledger.submission(r.id).value(code)) for r in rows]


def status_json(config: Path) -> dict[str, dict[str, Any]]:
    result = runner.invoke(app, ["status", "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    return {u["unit"]: u for u in json.loads(result.stdout)["units"]}


# ---- routing ---------------------------------------------------------------------------------


@pytest.fixture()
def mixed(tmp_path: Path) -> tuple[Path, dict[str, Path]]:
    config = city(tmp_path)
    inbox = tmp_path / "inbox"
    files = {
        "clean": report(inbox / "教育局.xlsx", "云溪市教育局"),
        "warned": report(inbox / "财政局.xlsx", "云溪市财政局", texts={"text.s6": "无"}),
        "rejected": report(inbox / "公安局.xlsx", "云溪市公安局", values=BROKEN_E1),
        "clash": report(inbox / "西山县" / "教育局.xlsx", "西山县政府", seed=3),  # same name as the first
        "broken": inbox / "新建 Microsoft Excel 工作表.xlsx",
        "pdf": inbox / "说明.pdf",
    }
    files["broken"].write_bytes(b"PK\x03\x04 truncated")
    files["pdf"].write_bytes(b"%PDF-1.4 not a workbook")
    (inbox / "~$教育局.xlsx").write_bytes(b"lock")
    return config, files


def test_run__every_input_is_kept_under_the_outbox_and_the_inbox_keeps_only_what_was_not_processed(mixed):
    config, files = mixed
    inputs = {name: sha(p) for name, p in files.items()}
    out = run(config)
    outbox = config.parent / "outbox"
    assert set(inputs.values()) <= outbox_hashes(outbox)
    left = sorted(p.relative_to(config.parent / "inbox").as_posix() for p in (config.parent / "inbox").rglob("*"))
    assert left == ["~$教育局.xlsx", "西山县"]  # the lock file is never read; the agency's folder stays
    assert out["received"] == 6 and out["accepted"] == 2 and out["accepted_with_warnings"] == 1
    assert out["rejected"] == 3 and out["duplicates"] == 0
    by_file = {f["file"]: f for f in out["files"]}
    assert "/归档/2025年度/已通过/云溪市教育局/" in by_file["教育局.xlsx"]["archive"]
    assert "/归档/2025年度/有警告/云溪市财政局/" in by_file["财政局.xlsx"]["archive"]
    assert "/归档/2025年度/被退回/云溪市公安局/" in by_file["公安局.xlsx"]["archive"]
    assert "/归档/2025年度/被退回/未识别单位/" in by_file["说明.pdf"]["archive"]
    assert by_file["西山县/教育局.xlsx"]["unit"] == "西山县人民政府"  # matched through the alias
    assert f"/反馈/{YEAR}年度/云溪市公安局/公安局_反馈.xlsx" in by_file["公安局.xlsx"]["feedback"]
    assert Path(by_file["新建 Microsoft Excel 工作表.xlsx"]["feedback"]).suffix == ".txt"
    assert Path(out["summary"]).is_file() and out["summary"].startswith(str(outbox / "汇总"))
    assert out["missing"] == []


@pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")
def test_run__outputs_are_readable_by_whoever_shares_the_outbox_as_the_umask_allows(mixed):
    """Temporary files used to be made by mkstemp (0600): renamed into place, the summary, feedback and
    archived copies were unreadable to every other account on a shared outbox."""
    config, _ = mixed
    old = os.umask(0o027)
    try:
        run(config)
    finally:
        os.umask(old)
    outbox = config.parent / "outbox"
    written = [p for p in outbox.rglob("*.xlsx")]
    kinds = {p.relative_to(outbox).parts[0] for p in written}
    assert {"汇总", "反馈", "归档"} <= kinds
    assert {p.relative_to(outbox).as_posix(): oct(p.stat().st_mode & 0o777) for p in written} == {
        p.relative_to(outbox).as_posix(): oct(0o640) for p in written
    }


def test_run__a_name_clash_in_the_archive_gets_a_suffix_and_overwrites_nothing(tmp_path: Path):
    config = city(tmp_path)
    inbox = tmp_path / "inbox"
    first = report(inbox / "年报.xlsx", "云溪市教育局", seed=1)
    sha1 = sha(first)
    run(config)
    second = report(inbox / "年报.xlsx", "云溪市教育局", seed=2)
    sha2 = sha(second)
    out = run(config)
    folder = tmp_path / "outbox/归档/2025年度/已通过/云溪市教育局"
    assert {p.name: sha(p) for p in folder.iterdir()} == {"年报.xlsx": sha1, "年报 (2).xlsx": sha2}
    assert out["files"][0]["feedback"].endswith("年报_反馈 (2).xlsx")


@needs_soffice
def test_run__a_clean_resubmission_after_a_rejection_gets_feedback_saying_it_passed(tmp_path: Path):
    """A file without any finding gets no feedback workbook; but where the unit's folder already holds
    one (its earlier file was 退回), the folder would tell the unit only that: the clean file gets one too."""
    import openpyxl

    config = city(tmp_path)
    inbox = tmp_path / "inbox"
    bad, good = tmp_path / "bad" / "公安局年报.xlsx", tmp_path / "good" / "公安局年报.xlsx"
    report(bad, "云溪市公安局", values=BROKEN_E1)
    report(good, "云溪市公安局")
    roundtrip([good])  # (saved by an office suite: totals calculated, so not even a notice)
    clean = report(inbox / "教育局.xlsx", "云溪市教育局")
    roundtrip([clean])
    (inbox / bad.name).write_bytes(bad.read_bytes())
    first = {f["file"]: f for f in run(config)["files"]}
    assert first["教育局.xlsx"]["findings"] == [] and first["教育局.xlsx"]["feedback"] is None  # (as before)
    assert first["公安局年报.xlsx"]["status"] == "rejected"
    (inbox / good.name).write_bytes(good.read_bytes())
    [second] = run(config)["files"]
    assert second["status"] == "accepted" and second["findings"] == []
    assert second["feedback"].endswith(f"/反馈/{YEAR}年度/云溪市公安局/公安局年报_反馈 (2).xlsx")
    sheet = openpyxl.load_workbook(second["feedback"])["校验结果"]
    assert ["结论", "通过"] in [[c for c in row if c is not None] for row in sheet.iter_rows(values_only=True)]


def test_run__a_second_run_on_the_same_state_changes_nothing(mixed):
    config, _ = mixed
    outbox = config.parent / "outbox"
    first = run(config)
    before_rows = ledger_rows(outbox)
    before_files = {p.relative_to(outbox): sha(p) for p in outbox.rglob("*") if p.is_file() and "日志" not in p.parts}
    before_files.pop(Path(LEDGER_FILE))
    before_files.pop(Path(TIDY_MARK))  # (the job's own bookkeeping, as the ledger: tidy jobs in a row)
    second = run(config)
    after_files = {p.relative_to(outbox): sha(p) for p in outbox.rglob("*") if p.is_file() and "日志" not in p.parts}
    after_files.pop(Path(LEDGER_FILE))
    after_files.pop(Path(TIDY_MARK))
    assert ledger_rows(outbox) == before_rows
    assert after_files == before_files  # same archive, feedback and summary, byte for byte
    assert second["received"] == 0 and second["files"] == []
    assert second["units"] == first["units"]


# ---- resubmission and duplicates ---------------------------------------------------------------


def test_resubmission__a_newer_accepted_report_supersedes_the_older_which_stays_archived(tmp_path: Path):
    config = city(tmp_path)
    inbox, outbox = tmp_path / "inbox", tmp_path / "outbox"
    old = report(inbox / "教育局.xlsx", "云溪市教育局", values={"s2_5.r1.c1": 10})
    old_sha = sha(old)
    run(config)
    report(inbox / "教育局(更正).xlsx", "云溪市教育局", values={"s2_5.r1.c1": 20})
    out = run(config)
    assert counted_value(outbox, "云溪市教育局") == ["20"]
    assert "取代" in out["files"][0]["note"]
    rows = ledger_rows(outbox)
    assert rows[0][6] == rows[1][0]  # the old one is superseded by the new one
    assert old_sha in outbox_hashes(outbox)
    with Ledger(outbox / LEDGER_FILE, readonly=True) as ledger:
        assert "superseded" in [f.rule_id for f in ledger.get(rows[0][0]).findings]


def test_resubmission__a_rejected_correction_does_not_unseat_the_accepted_report(tmp_path: Path):
    config = city(tmp_path)
    inbox, outbox = tmp_path / "inbox", tmp_path / "outbox"
    report(inbox / "a.xlsx", "云溪市教育局", values={"s2_5.r1.c1": 10})
    run(config)
    report(inbox / "b.xlsx", "云溪市教育局", values=BROKEN_E1)
    run(config)
    assert counted_value(outbox, "云溪市教育局") == ["10"]


def test_duplicate__the_same_content_again_is_recorded_and_archived_but_not_counted_twice(tmp_path: Path):
    config = city(tmp_path)
    inbox, outbox = tmp_path / "inbox", tmp_path / "outbox"
    first = report(inbox / "教育局.xlsx", "云溪市教育局", values={"s2_5.r1.c1": 7})
    data = first.read_bytes()
    (inbox / "教育局 - 副本.xlsx").write_bytes(data)  # twice in one batch
    out1 = run(config)
    (inbox / "再发一次.xlsx").write_bytes(data)  # and again later
    out2 = run(config)
    assert [f["status"] for f in out1["files"]] == ["accepted", "duplicate"]
    assert [f["status"] for f in out2["files"]] == ["duplicate"]
    assert "不重复计入" in out2["files"][0]["note"]
    assert counted_value(outbox, "云溪市教育局") == ["7"]
    assert len(list((outbox / "归档/2025年度/重复/云溪市教育局").iterdir())) == 2
    assert out2["units"]["accepted"] == 1
    assert out2["summary_unchanged"]  # the summary never shows duplicates: it is left as it was


def test_an_earlier_version_sent_again__is_a_duplicate_that_says_which_version_counts_and_how_to_change_it(tmp_path):
    config = city(tmp_path)
    inbox = tmp_path / "inbox"
    first = report(inbox / "公安局.xlsx", "云溪市公安局", seed=1)
    kept = first.read_bytes()
    run(config)
    report(inbox / "公安局（更正）.xlsx", "云溪市公安局", seed=2)
    run(config)
    (inbox / "公安局（请以第一版为准）.xlsx").write_bytes(kept)
    [again] = run(config)["files"]
    assert again["status"] == "duplicate"
    assert again["note"].endswith(  # (#2: the correction's ledger id; the name may be shared by other units' files)
        '现计入的是其后收到的“公安局（更正）.xlsx”，如应以本文件为准，请汇总单位运行 nianbao withdraw "#2" '
        "撤回“公安局（更正）.xlsx”（“公安局.xlsx”随即重新计入），或由单位把本文件在 Excel 或 WPS 中打开、另存一次后重新提交"
        "（按新文件处理，计入汇总）"
    )
    [notice] = again["findings"]
    assert (
        notice["rule"] == "duplicate-of-superseded"
        and "“公安局.xlsx”已被其后收到的“公安局（更正）.xlsx”取代" in notice["message"]
    )
    assert status_json(config)["云溪市公安局"]["file"] == "公安局（更正）.xlsx"
    # a third version: withdrawing the one counted would bring back the second, not the first; said so
    report(inbox / "公安局（第三版）.xlsx", "云溪市公安局", seed=3)
    run(config)
    (inbox / "公安局（还是第一版）.xlsx").write_bytes(kept)
    [once_more] = run(config)["files"]
    assert "withdraw" not in once_more["note"] and "“公安局.xlsx”之后还有别的版本" in once_more["note"]


def test_last_years_report_sent_late__is_refused_for_its_year_not_taken_for_a_failed_correction(tmp_path: Path):
    """A unit's 2024 report arrives in the 2025 inbox after its 2025 report: refused (another year), with the
    command that takes it in for 2024; the unit's 2025 report is not said to have a failed correction."""
    config = city(tmp_path)
    report(tmp_path / "inbox" / "公安局.xlsx", "云溪市公安局", seed=1)
    run(config)
    report(tmp_path / "inbox" / "公安局2024（补报）.xlsx", "云溪市公安局", year=YEAR - 1, seed=2)
    [late] = run(config)["files"]
    [told] = [f for f in late["findings"] if f["rule"] == "year-mismatch"]
    assert f"运行 nianbao run --year {YEAR - 1} --inbox 补报{YEAR - 1} 处理" in told["message"]  # (its own inbox)
    row = status_json(config)["云溪市公安局"]
    assert (row["status"], row["file"], row["rejected_after"]) == ("accepted", "公安局.xlsx", None)
    # a unit that sent only last year's report: 被退回 until it is taken in for its year as advised, then 未报送
    late = report(tmp_path / "inbox" / "财政局2024.xlsx", "云溪市财政局", year=YEAR - 1, seed=3)
    kept = late.read_bytes()
    run(config)
    assert status_json(config)["云溪市财政局"]["status"] == "rejected"
    (tmp_path / f"补报{YEAR - 1}").mkdir()
    (tmp_path / f"补报{YEAR - 1}" / "财政局2024.xlsx").write_bytes(kept)
    run(config, "--year", str(YEAR - 1), "--inbox", str(tmp_path / f"补报{YEAR - 1}"))
    assert status_json(config)["云溪市财政局"]["status"] == "missing"


def test_an_unreadable_file__its_feedback_goes_to_the_unit_its_folder_names_or_else_to_未识别单位(tmp_path: Path):
    """No unit can be read from a broken file: a folder named after a roster unit (公安局, its short name)
    says whose it is; a folder of a group (乡镇街道) names no unit, so its feedback is not filed as one."""
    config = city(tmp_path)
    inbox = tmp_path / "inbox"
    for folder in ("公安局", "乡镇街道", "西山县"):
        (inbox / folder).mkdir(parents=True)
        (inbox / folder / "年报.xlsx").write_bytes(f"PK\x03\x04 truncated {folder}".encode())
    files = {f["file"]: f for f in run(config)["files"]}
    assert f"/反馈/{YEAR}年度/云溪市公安局/年报_反馈.txt" in files["公安局/年报.xlsx"]["feedback"]
    assert f"/反馈/{YEAR}年度/未识别单位/年报_反馈.txt" in files["乡镇街道/年报.xlsx"]["feedback"]
    assert (
        f"/反馈/{YEAR}年度/未识别单位/" in files["西山县/年报.xlsx"]["feedback"]
    )  # (a county's folder: not its government's)


def test_identical_empty_files_of_two_units__each_units_folder_gets_the_answer(tmp_path: Path):
    """Two clerks each drop an empty 年报.xlsx into their own folder: the same bytes, one refused, the other
    recorded as its copy; its unit's feedback folder gets the same answer, not nothing."""
    config = city(tmp_path)
    for folder in ("财政局", "公安局"):
        (tmp_path / "inbox" / folder).mkdir(parents=True)
        (tmp_path / "inbox" / folder / "年报.xlsx").write_bytes(b"")
    files = {f["file"]: f for f in run(config)["files"]}
    assert sorted(f["status"] for f in files.values()) == ["duplicate", "rejected"]
    told = {Path(f["feedback"]).parent.name for f in files.values()}
    assert told == {"云溪市财政局", "云溪市公安局"}
    assert all(Path(f["feedback"]).read_bytes() for f in files.values())


def test_copies_of_a_refused_file_in_one_batch__are_all_answered_in_that_run(tmp_path: Path):
    """A clerk drops a broken file three times (a copy, one in a subfolder): the first is 退回, the copies are
    recorded as repeating it in the same run (none left in the inbox for the next run to 退回 again); the same
    content sent again later is checked again, as any refused content is."""
    config = city(tmp_path)
    inbox = tmp_path / "inbox"
    broken = report(inbox / "公安局.xlsx", "云溪市公安局", values=BROKEN_E1)
    shutil.copy(broken, inbox / "公安局 - 副本.xlsx")
    (inbox / "sub").mkdir()
    shutil.copy(broken, inbox / "sub" / "公安局.xlsx")
    out = run(config)
    assert sorted(f["status"] for f in out["files"]) == ["duplicate", "duplicate", "rejected"]
    [first] = [f for f in out["files"] if f["status"] == "rejected"]
    for copy in (f for f in out["files"] if f["status"] == "duplicate"):
        assert copy["note"] == f"与本批次被退回的“{first['file']}”内容相同，不重复处理；请按它的反馈修改后重新提交"
        assert [f["rule"] for f in copy["findings"]] == ["duplicate-of-refused"]  # (not "不重复计入汇总")
    assert not [p for p in inbox.rglob("*") if p.is_file()]
    shutil.copy(next((tmp_path / "outbox").rglob("公安局 - 副本.xlsx")), inbox / "公安局（再次）.xlsx")
    assert [f["status"] for f in run(config)["files"]] == ["rejected"]


def test_same_batch__two_different_files_of_one_unit_the_later_by_mtime_wins_with_a_warning(tmp_path: Path):
    config = city(tmp_path)
    inbox, outbox = tmp_path / "inbox", tmp_path / "outbox"
    now = time.time()
    report(inbox / "z_较早.xlsx", "云溪市教育局", values={"s2_5.r1.c1": 1}, mtime=now - 100)
    report(inbox / "a_较晚.xlsx", "云溪市教育局", values={"s2_5.r1.c1": 2}, mtime=now - 50)
    out = run(config)
    by_file = {f["file"]: f for f in out["files"]}
    assert counted_value(outbox, "云溪市教育局") == ["2"]
    later = by_file["a_较晚.xlsx"]  # (a notice, not a warning: nothing the coordinator could settle stays open)
    assert later["status"] == "accepted"
    assert "same-batch-duplicate" in [f["rule"] for f in later["findings"] if f["severity"] == "notice"]
    assert out["units"]["warning"] == 0
    earlier = by_file["z_较早.xlsx"]  # (--json says the earlier one does not count, though it passed)
    assert "已被本批次较新的“a_较晚.xlsx”取代，不计入" in earlier["note"]
    assert [f["rule"] for f in earlier["findings"]][-1] == "superseded"
    # its clerk's feedback, written when it was checked (结论 通过), now says it does not count and why
    import openpyxl

    sheet = openpyxl.load_workbook(earlier["feedback"], read_only=True)["校验结果"]
    told = [[c for c in row if c is not None] for row in sheet.iter_rows(values_only=True)]
    assert ["结论", "已被本单位后来提交的文件取代，不计入汇总（见下）；无需再改本文件"] in told
    assert any("已被同一单位同一年度后来提交的“a_较晚.xlsx”取代" in str(c) for row in told for c in row)
    # the copy written ahead under the status first found was taken back: no stray file or empty folder
    folders = [d for d in (outbox / "归档").rglob("*") if d.is_dir()]
    assert all(any(d.iterdir()) for d in folders) and not list(outbox.rglob(".nianbao-*"))


# ---- intake rules ------------------------------------------------------------------------------


def test_intake__lock_files_and_a_file_still_being_written_are_not_read(tmp_path: Path):
    config = city(tmp_path, stable=0.4, max_wait_seconds=1.5)
    inbox = tmp_path / "inbox"
    report(inbox / "教育局.xlsx", "云溪市教育局")
    (inbox / "~$教育局.xlsx").write_bytes(b"owner lock")
    (inbox / ".~lock.教育局.xlsx#").write_bytes(b"libreoffice lock")
    growing = inbox / "财政局.xlsx"
    growing.write_bytes(report(tmp_path / "src.xlsx", "云溪市财政局").read_bytes()[:1000])
    stop = threading.Event()

    def keep_writing() -> None:
        while not stop.wait(0.1):
            with open(growing, "ab") as fh:
                fh.write(b"\0" * 100)

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        out = run(config)
    finally:
        stop.set()
        writer.join()
    assert [f["file"] for f in out["files"]] == ["教育局.xlsx"]
    assert out["waiting"] == ["财政局.xlsx"]
    assert growing.exists() and (inbox / "~$教育局.xlsx").exists()
    assert all(row[2] != "财政局.xlsx" for row in ledger_rows(tmp_path / "outbox"))


def test_unknown_unit__warning_names_the_closest_roster_units_and_an_alias_added_later_fixes_it(tmp_path: Path):
    config = city(tmp_path)
    inbox = tmp_path / "inbox"
    report(inbox / "年报.xlsx", "云溪市教育厅")
    out = run(config)
    f = out["files"][0]
    assert f["status"] == "warning" and f["on_roster"] is False
    unknown = next(x for x in f["findings"] if x["rule"] == "unit-unknown")
    assert "“云溪市教育局”" in unknown["message"]
    assert out["missing"] == ["云溪市教育局", "云溪市财政局", "云溪市公安局", "西山县人民政府"]
    # the roster's count covers the roster's units only: the one outside it is counted apart
    assert out["units"] == {
        **{"expected": 4, "accepted": 0, "warning": 0, "explained": 0, "rejected": 0, "missing": 4, "covered": 0},
        **{"outside_roster": 1, "rollups": 0},
    }
    text = runner.invoke(app, ["run", "--config", str(config)]).output
    assert "名册单位 4 个：已计入汇总 0，被退回 0，未报送 4。" in text and "名册以外的单位 1 个" in text
    # The coordinator adds the name as an alias: the next run (nothing new) counts it for the unit.
    units = [("云溪市教育局", "市直部门", "云溪市教育厅"), *UNITS[1:]]
    city(tmp_path, units=units)
    status = status_json(config)
    assert status["云溪市教育局"]["status"] == "accepted" and "云溪市教育厅" not in status


def test_a_file_named_for_another_unit__is_counted_as_written_with_a_warning_naming_both(tmp_path: Path):
    """财政局's clerk filled in 教育局's file (its 单位名称 says 云溪市教育局): counted for 云溪市教育局 as
    written, it replaces that unit's report; the warning names both units, so that it is not unseen."""
    config = city(tmp_path)
    inbox = tmp_path / "inbox"
    report(inbox / "教育局年报.xlsx", "云溪市教育局", seed=1)
    run(config)
    report(inbox / "财政局年报（补充）.xlsx", "云溪市教育局", seed=2)
    report(inbox / "西山县" / "教育局.xlsx", "西山县政府", seed=3)  # (a 西山县 unit's own 教育局, maybe: not said)
    files = {f["file"]: f for f in run(config)["files"]}
    f = files["财政局年报（补充）.xlsx"]
    assert (f["unit"], f["status"]) == ("云溪市教育局", "warning")
    [w] = [x for x in f["findings"] if x["rule"] == "unit-name-mismatch"]
    assert (w["severity"], w["cell"], w["found"], w["expected"]) == ("warning", "B3", "云溪市教育局", "云溪市财政局")
    assert "文件名“财政局年报（补充）.xlsx”像是“云溪市财政局”的报告" in w["message"] and "取代" in w["message"]
    assert not [x for x in files["西山县/教育局.xlsx"]["findings"] if x["rule"] == "unit-name-mismatch"]


def test_a_file_in_another_units_folder__is_counted_as_written_with_a_warning_naming_the_folder(tmp_path: Path):
    """A township's clerk fills in the template issued to another township and forgets its name: the file,
    in the inbox folder named after the clerk's own unit (its alias), would replace the other unit's report
    unseen. A folder of a roster group (西山县) or of the unit written says nothing."""
    units = [
        *UNITS,
        ("西山县青石乡人民政府", "西山县/乡镇街道", "青石乡"),
        ("西山县白沙镇人民政府", "西山县/乡镇街道", ""),
    ]
    config = city(tmp_path, units=units)
    inbox = tmp_path / "inbox"
    report(inbox / "白沙镇" / "年报.xlsx", "西山县白沙镇人民政府", seed=1)
    run(config)
    report(inbox / "青石乡" / "2025年报(最终).xlsx", "西山县白沙镇人民政府", seed=2)
    report(inbox / "西山县" / "白沙镇人民政府" / "年报.xlsx", "西山县白沙镇人民政府", seed=3, mtime=time.time() - 600)
    report(inbox / "西山县" / "政府.xlsx", "西山县人民政府", seed=4)
    files = {f["file"]: f for f in run(config)["files"]}
    f = files["青石乡/2025年报(最终).xlsx"]
    [w] = [x for x in f["findings"] if x["rule"] == "unit-name-mismatch"]
    assert (w["found"], w["expected"]) == ("西山县白沙镇人民政府", "西山县青石乡人民政府")
    assert w["message"].startswith("文件所在的文件夹“青石乡”像是“西山县青石乡人民政府”的报告")
    assert "以后提交时放在本单位的文件夹中即不再提示" in w["message"]
    for quiet in ("西山县/白沙镇人民政府/年报.xlsx", "西山县/政府.xlsx"):
        assert not [x for x in files[quiet]["findings"] if x["rule"] == "unit-name-mismatch"], quiet


def test_a_file_in_a_folder_naming_another_unit__the_cases_that_warn_and_the_ordinary_ones_that_do_not(tmp_path):
    units = [
        ("西山县人民政府", "西山县", ""),
        ("西山县教育局", "西山县/县直部门", ""),
        ("东山县教育局", "东山县/县直部门", ""),
        ("西山县白沙镇人民政府", "西山县/乡镇街道", ""),
        ("西山县青石乡人民政府", "西山县/乡镇街道", ""),
    ]
    config = city(tmp_path, units=units)
    inbox = tmp_path / "inbox"
    cases = {
        "东山县教育局/年报.xlsx": ("西山县教育局", "东山县教育局"),  # (a shared short name does not hide it)
        "白沙镇/年报.xlsx": ("西山县青石乡人民政府", "西山县白沙镇人民政府"),  # (a township's place, no alias)
        "西山县政府/西山县教育局年报.xlsx": ("西山县教育局", None),  # (the file's name says whose it is)
        "西山县人民政府/青石乡.xlsx": ("西山县青石乡人民政府", None),  # (its county's folder)
        "西山县/教育局.xlsx": ("西山县教育局", None),  # (a group's folder)
        "青石乡/白沙镇年报.xlsx": ("西山县白沙镇人民政府", None),  # (its own township's place in the file's name)
    }
    for i, (rel, (agency, _)) in enumerate(cases.items()):
        report(inbox / rel, agency, seed=i)
    files = {f["file"]: f for f in run(config)["files"]}
    for rel, (_, other) in cases.items():
        said = [x["expected"] for x in files[rel]["findings"] if x["rule"] == "unit-name-mismatch"]
        assert said == ([other] if other else []), rel


def test_a_correction_that_is_rejected__stays_in_sight_while_the_earlier_report_counts(tmp_path: Path):
    """An accepted report, then a resubmission with an error: the earlier one still counts (as before), and
    the run, `status` and the summary's 报送情况 say that the correction was 退回, naming it."""
    import openpyxl

    config = city(tmp_path)
    inbox = tmp_path / "inbox"
    report(inbox / "公安局年报.xlsx", "云溪市公安局", seed=1)
    run(config)
    report(inbox / "公安局年报（更正）.xlsx", "云溪市公安局", values=BROKEN_E1)
    out = run(config)
    assert out["files"][0]["status"] == "rejected" and "云溪市公安局" not in out["missing"]
    text = runner.invoke(app, ["run", "--config", str(config)]).output
    assert "重新提交被退回、仍按此前通过的报告计入：云溪市公安局（“公安局年报（更正）.xlsx”）" in text
    row = status_json(config)["云溪市公安局"]
    assert (row["status"], row["file"], row["rejected_after"]) == (
        "accepted",
        "公安局年报.xlsx",
        "公安局年报（更正）.xlsx",
    )
    assert "其后的“公安局年报（更正）.xlsx”被退回" in runner.invoke(app, ["status", "--config", str(config)]).output
    sheet = openpyxl.load_workbook(out["summary"], read_only=True)["报送情况"]
    [shown] = [r for r in sheet.iter_rows(values_only=True) if r[1] == "云溪市公安局"]
    assert shown[3] == "已通过" and shown[4] == "其后提交的“公安局年报（更正）.xlsx”被退回，仍按此前通过的报告计入"


def test_wrong_year__is_rejected_with_year_mismatch(tmp_path: Path):
    config = city(tmp_path)
    report(tmp_path / "inbox" / "教育局2024.xlsx", "云溪市教育局", year=2024)
    out = run(config)
    assert out["files"][0]["status"] == "rejected"
    assert "year-mismatch" in [x["rule"] for x in out["files"][0]["findings"]]
    assert "/归档/2025年度/被退回/" in out["files"][0]["archive"]


def test_cross_year__last_years_accepted_report_is_compared_I1(tmp_path: Path):
    config = city(tmp_path)
    inbox = tmp_path / "inbox"
    last = values(0)
    report(inbox / "教育局2024.xlsx", "云溪市教育局", year=2024)
    run(config, "--year", "2024")
    # This year's 上年结转 is 2 more than last year's 结转下年度 (the report balances otherwise).
    this = values(0)
    changed = {
        "s3.r2.c1": last["s3.r4.c1"] + 2,
        "s3.r3_5_1.c1": this["s3.r3_5_1.c1"] + 2 + last["s3.r4.c1"] - this["s3.r2.c1"],
    }
    report(inbox / "教育局2025.xlsx", "云溪市教育局", values=changed)
    out = run(config)
    rules = [x["rule"] for x in out["files"][0]["findings"]]
    assert "I1" in rules and out["files"][0]["status"] == "warning"


# ---- status, json, lock --------------------------------------------------------------------------


def test_status__every_roster_unit_with_its_standing_and_contact(mixed):
    config, _ = mixed
    run(config)
    status = status_json(config)
    assert status["云溪市教育局"]["status"] == "accepted" and status["云溪市教育局"]["filler"] == "张三"
    assert status["云溪市教育局"]["phone"] == "0453-3921234"
    assert status["云溪市公安局"]["status"] == "rejected" and status["云溪市公安局"]["errors"] == 1
    assert status["云溪市财政局"]["status"] == "warning" and status["云溪市财政局"]["warnings"] == 1
    text = runner.invoke(app, ["status", "--config", str(config)]).stdout
    assert "云溪市公安局" in text and "被退回" in text and "名册单位 4 个" in text


def test_status__received_at_is_when_the_file_was_put_in_the_inbox_not_when_the_job_ran(tmp_path: Path):
    """A coordinator who runs the job after the deadline still sees who sent their report in time."""
    config = city(tmp_path)
    path = report(tmp_path / "inbox" / "教育局.xlsx", "云溪市教育局", mtime=time.time() - 30 * 86_400)
    placed = dt.datetime.fromtimestamp(max(path.stat().st_ctime, path.stat().st_mtime)).replace(microsecond=0)
    time.sleep(2.1)  # (the job runs a while after the file was put there)
    run(config)
    shown = dt.datetime.fromisoformat(status_json(config)["云溪市教育局"]["received_at"]).replace(tzinfo=None)
    assert abs((shown - placed).total_seconds()) <= 1  # (not the time of the run, not the last save a month ago)
    assert dt.datetime.now() - shown >= dt.timedelta(seconds=2)


@pytest.mark.parametrize("kind", ["none", "folder", "fifo"])
def test_status__without_a_ledger_file__says_so_and_what_to_do(tmp_path: Path, kind: str):
    config = city(tmp_path)
    ledger = tmp_path / "outbox" / LEDGER_FILE
    ledger.parent.mkdir()
    if kind == "fifo":
        if not hasattr(os, "mkfifo"):
            pytest.skip("no named pipes here")
        os.mkfifo(ledger)
    elif kind == "folder":
        ledger.mkdir()
    result = runner.invoke(app, ["status", "--config", str(config)])
    if kind == "none":  # (at the season's start: the roster, every unit still to report)
        assert result.exit_code == 0 and "还没有台账" in result.stderr
        assert "名册单位 4 个：未报送 4" in result.stdout and "云溪市教育局" in result.stdout
    else:  # (not waited on for ever, not taken for a ledger not made yet)
        assert result.exit_code != 0
        assert "不是一个文件" in result.stderr and "请把它移出输出文件夹后再运行" in result.stderr


def test_run__console_output_is_chinese_and_names_where_the_outputs_are(mixed):
    config, _ = mixed
    result = runner.invoke(app, ["run", "--config", str(config)])
    assert result.exit_code == 0
    assert "本次收到文件 6 个：通过 2，有警告 1，被退回 3，重复 0。" in result.stdout
    assert "汇总表：" in result.stdout and "反馈工作簿：" in result.stdout
    assert "被退回：公安局.xlsx（云溪市公安局）" in result.stderr  # one line per file
    assert "跳过：~$教育局.xlsx" in result.stderr
    log = (config.parent / "outbox/日志/nianbao.log").read_text(encoding="utf-8")
    assert "被退回：公安局.xlsx" in log and "[E1]" in log


def test_lock__a_second_job_on_the_same_outbox_exits_3_with_a_clear_message(tmp_path: Path):
    config = city(tmp_path)
    (tmp_path / "outbox").mkdir()
    with FileLock(tmp_path / "outbox" / LOCK_FILE):
        result = runner.invoke(app, ["run", "--config", str(config), "--wait", "0.3"])
    assert result.exit_code == 3
    assert "另一个 nianbao 任务" in result.stderr and "已等待 0.3 秒" in result.stderr
    # with a ledger, whose job it likely is (on a share, a crashed computer's lock lasts until its session ends)
    with Ledger(tmp_path / "outbox" / LEDGER_FILE) as ledger:
        ledger.db.execute(
            "INSERT INTO runs(mode, year, started_at, host, user) VALUES ('watch', 2025, '2026-01-20T09:15:02+08:00', 'PC-01', 'zhang')"
        )
    with FileLock(tmp_path / "outbox" / LOCK_FILE):
        result = runner.invoke(app, ["run", "--config", str(config), "--wait", "0.3"])
    assert result.exit_code == 3
    assert "已等待 0.3 秒仍未结束（台账记录：PC-01 上的 zhang 于 2026-01-20 09:15 开始的 watch）。" in result.stderr


def test_lock__a_second_job_waits_for_the_first_to_finish(tmp_path: Path):
    config = city(tmp_path)
    report(tmp_path / "inbox" / "教育局.xlsx", "云溪市教育局")
    (tmp_path / "outbox").mkdir()
    lock = FileLock(tmp_path / "outbox" / LOCK_FILE, thread_local=False)
    lock.acquire()
    threading.Timer(0.5, lock.release).start()
    out = run(config, "--wait", "10")
    assert out["accepted"] == 1


def test_similar_scan_limit__set_in_nianbao_toml__is_the_jobs_text_similar_scan_limit(tmp_path: Path):
    from processor.batch import Job
    from processor.config import ConfigError, load_settings
    from processor.spec import edition_for_year

    def job_spec():
        job = Job(load_settings(config=config))
        job.close()
        return job.spec

    config = city(tmp_path)
    assert job_spec().rule("text-similar").params["scan_limit"] == 0  # the spec's own: every pair
    config.write_text(config.read_text(encoding="utf-8") + "similar_scan_limit = 200\n", encoding="utf-8")
    spec = job_spec()
    assert spec.rule("text-similar").params["scan_limit"] == 200 and spec == edition_for_year(YEAR)
    config.write_text(config.read_text(encoding="utf-8").replace("= 200\n", "= -1\n"), encoding="utf-8")
    with pytest.raises(ConfigError, match="similar_scan_limit"):
        load_settings(config=config)


def test_bad_settings__exit_2_with_the_file_and_key(tmp_path: Path):
    config = city(tmp_path)
    config.write_text(config.read_text(encoding="utf-8") + 'colour = "red"\n', encoding="utf-8")
    result = runner.invoke(app, ["run", "--config", str(config)])
    assert result.exit_code == 2 and "“colour”不是可识别的设置项" in result.stderr


# ---- init and templates ---------------------------------------------------------------------------


def test_init__creates_folders_config_and_roster_and_never_overwrites(tmp_path: Path):
    from processor.config import load_settings

    result = runner.invoke(app, ["init", str(tmp_path), "--year", "2025"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "inbox").is_dir() and (tmp_path / "outbox").is_dir()
    raw = (tmp_path / "nianbao.toml").read_bytes()  # (BOM and CRLF: old Notepad shows it as written)
    assert raw.startswith(b"\xef\xbb\xbf#") and b"\r\n" in raw and b"\r\r" not in raw
    toml = raw.decode("utf-8-sig")
    assert "year = 2025" in toml and "# 收件文件夹" in toml
    gbk = tmp_path / "gbk.toml"  # (saved again by Notepad as "ANSI": GBK on Chinese Windows)
    gbk.write_bytes(toml.replace("\r\n", "\n").encode("gb18030"))
    assert load_settings(config=gbk).year == 2025
    (tmp_path / "名册.csv").write_text("单位名称\n我的单位\n", encoding="utf-8")
    again = runner.invoke(app, ["init", str(tmp_path)])
    assert "已存在，未改动" in again.stdout
    assert (tmp_path / "名册.csv").read_text(encoding="utf-8") == "单位名称\n我的单位\n"
    templates = runner.invoke(app, ["templates", "--config", str(tmp_path / "nianbao.toml"), "-o", str(tmp_path / "t")])
    assert templates.exit_code == 0, templates.output
    assert [p.name for p in (tmp_path / "t").iterdir()] == ["我的单位_2025年度政府信息公开工作年度报告.xlsx"]


def test_templates__one_prefilled_template_per_roster_unit_that_the_job_accepts_as_that_unit(tmp_path: Path):
    import openpyxl

    from processor.layout import layout

    config = city(tmp_path)
    result = runner.invoke(app, ["templates", "--config", str(config), "-o", str(tmp_path / "下发")])
    assert result.exit_code == 0, result.output
    made = sorted(p.name for p in (tmp_path / "下发").iterdir())
    assert len(made) == len(UNITS) and "云溪市教育局_2025年度政府信息公开工作年度报告.xlsx" in made
    place = layout(get_spec("2021")).places["info.agency"]
    wb = openpyxl.load_workbook(tmp_path / "下发" / made[0])
    assert wb[place.sheet][place.a1].value in {u[0] for u in UNITS}


def test_workers__checking_in_worker_processes_gives_the_same_outcomes(tmp_path: Path):
    outcomes = []
    for workers in (1, 2):
        folder = tmp_path / f"w{workers}"
        folder.mkdir()
        config = city(folder)
        now = time.time()
        report(folder / "inbox" / "a.xlsx", "云溪市教育局", mtime=now - 4)
        report(folder / "inbox" / "b.xlsx", "云溪市财政局", texts={"text.s6": "无"}, mtime=now - 3)
        report(folder / "inbox" / "c.xlsx", "云溪市公安局", values=BROKEN_E1, mtime=now - 2)
        report(folder / "inbox" / "d.xlsx", "云溪市教育厅", mtime=now - 1)
        out = run(config, "--workers", str(workers))
        outcomes.append([(f["file"], f["status"], sorted(x["rule"] for x in f["findings"])) for f in out["files"]])
    assert outcomes[0] == outcomes[1]
    assert [status for _, status, _ in outcomes[0]] == ["accepted", "warning", "rejected", "warning"]


def _broken_check(source: Any, **kwargs: Any) -> Any:
    raise RuntimeError("校验程序出错")


def test_a_check_that_crashes_leaves_the_file_in_the_inbox_and_the_job_still_completes(tmp_path: Path):
    from processor.batch import run_batch
    from processor.config import load_settings

    config = city(tmp_path)
    report(tmp_path / "inbox" / "教育局.xlsx", "云溪市教育局")
    result = run_batch(load_settings(config=config), check=_broken_check)
    assert [(f.status, f.note) for f in result.files] == [("error", "RuntimeError: 校验程序出错")]
    assert (tmp_path / "inbox" / "教育局.xlsx").exists()
    assert result.summary is not None and result.missing == [u[0] for u in UNITS]
    assert [row[3] for row in ledger_rows(tmp_path / "outbox")] == ["received"]  # retried next run


# ---- durability --------------------------------------------------------------------------------


def test_durability__archive_copies_and_feedback_workbooks_are_synced_with_their_batch_before_the_ledger(
    mixed, monkeypatch
):
    from processor import archive, batch

    config, _ = mixed
    synced: list[Path] = []
    folders: list[Path] = []
    real, real_dir = archive.make_durable, archive.fsync_dir
    monkeypatch.setattr(
        archive, "make_durable", lambda paths, **kw: (synced.extend(map(Path, paths)), real(paths, **kw))
    )
    monkeypatch.setattr(archive, "fsync_dir", lambda folder: (folders.append(Path(folder)), real_dir(folder)))
    out = run(config)
    for f in out["files"]:
        assert Path(f["archive"]) in synced
        if f["feedback"] and f["feedback"].endswith(".xlsx") and batch.DEFER_FEEDBACK_SYNC:
            assert Path(f["feedback"]) in synced  # written without fsync, synced before the ledger row
        if f["archive"]:  # the unit's folder was just made: its entry in the status folder is synced too
            unit_folder = Path(f["archive"]).parent
            assert {unit_folder, unit_folder.parent, unit_folder.parent.parent} <= set(folders)


@pytest.mark.skipif(os.name == "nt", reason="symbolic links need privileges on Windows")
def test_outbox__an_archive_folder_linked_to_another_disk__files_archived_there_and_recorded_under_the_outbox(
    tmp_path: Path,
):
    config = city(tmp_path)
    elsewhere = tmp_path / "另一块硬盘" / "归档"
    elsewhere.mkdir(parents=True)
    outbox = config.parent / "outbox"
    outbox.mkdir(exist_ok=True)
    (outbox / "归档").symlink_to(elsewhere, target_is_directory=True)
    report(config.parent / "inbox" / "教育局.xlsx", "云溪市教育局")
    out = run(config)
    [f] = out["files"]
    assert f["status"] == "accepted" and Path(f["archive"]).is_file()
    assert any(elsewhere.rglob("教育局.xlsx"))  # the copy is on the other disk
    [row] = ledger_rows(outbox)
    assert row[8].startswith("归档/2025年度/已通过/")  # recorded relative to the outbox, through the link


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(
            st.text(max_size=5) | st.integers() | st.floats() | st.booleans() | st.none(), inner, max_size=4
        )
    ),
    max_leaves=20,
)


@given(_JSON)
@settings(max_examples=300)
def test_run_json__each_file_entry_written_as_json_dumps_indents_it(value) -> None:
    """`run --json` writes a file's entry itself (json.dumps' indenting encoder is slow): the same text."""
    assert indented_json(value) == json.dumps(value, ensure_ascii=False, indent=2)
    assert indented_json(value, "\n    ") == json.dumps(value, ensure_ascii=False, indent=2).replace("\n", "\n    ")
    assert indented_json(value, "\n", _ASCII) == json.dumps(value, indent=2)  # (stdout in a code page: ascii_json)


def test_remove__on_windows_a_read_only_original_is_removed_after_its_attribute_is_cleared(monkeypatch):
    """Windows refuses to unlink a file with the read-only attribute (a file marked so by its sender):
    archived already, it would stay in the inbox for ever and be taken again and again."""
    import stat

    from processor import batch

    class ReadOnly:
        def __init__(self) -> None:
            self.tries, self.mode = 0, None

        def unlink(self) -> None:
            self.tries += 1
            if self.mode is None:
                raise PermissionError(13, "Access is denied")

    from types import SimpleNamespace

    monkeypatch.setattr(batch.atomic, "WINDOWS", True)
    monkeypatch.setattr(batch.os, "chmod", lambda path, mode: setattr(path, "mode", mode))
    monkeypatch.setattr(batch.os, "stat", lambda path: SimpleNamespace(st_file_attributes=path.attrs))
    path = ReadOnly()
    path.attrs = stat.FILE_ATTRIBUTE_READONLY if hasattr(stat, "FILE_ATTRIBUTE_READONLY") else 1
    batch._remove(path)  # type: ignore[arg-type]
    assert path.tries == 2 and path.mode & stat.S_IWRITE
    held = ReadOnly()  # (open in Excel: not read-only; the refusal stands, the attribute is left alone)
    held.attrs = 0
    with pytest.raises(PermissionError):
        batch._remove(held)  # type: ignore[arg-type]
    assert held.mode is None
    monkeypatch.setattr(batch.atomic, "WINDOWS", False)  # (elsewhere a refusal is not about an attribute)
    with pytest.raises(PermissionError):
        batch._remove(ReadOnly())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ('inbox = "D:\\年报\\收件"\n', "第 1 行第 14 列格式有误：双引号里出现了反斜杠"),  # refused by TOML
        ('inbox = "D:\\temp\\new"\n', "控制字符（如制表符、换行符"),  # read as D:<tab>emp<newline>ew: refused too
    ],
)
def test_config__a_windows_path_in_double_quotes__says_to_use_single_quotes_or_slashes(tmp_path, line, words):
    from processor.config import ConfigError, load_settings

    config = tmp_path / "nianbao.toml"
    config.write_text(line, encoding="utf-8")
    with pytest.raises(ConfigError, match=words) as caught:
        load_settings(config=config)
    assert "请改用单引号（如 inbox = 'D:\\年报\\收件'），或把 \\ 写成 /" in str(caught.value)
    config.write_text("inbox = 'D:\\年报\\收件'\n", encoding="utf-8")  # (single quotes: as written)
    assert load_settings(config=config).inbox.name.endswith("收件")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("year 2025\n", "第 1 行第 6 列格式有误：设置项名称后缺少英文等号“=”（该行内容：year 2025）"),
        ("inbox = “收件”\n", "值的写法无法识别：文字要放在英文引号里.*该行含有中文全角符号，请改用英文半角"),
        ("year ＝ 2025\n", "缺少英文等号.*该行含有中文全角符号"),
        ('inbox = "收件\n', "引号没有配对"),
        ("year = 2025\nyear = 2026\n", "第 2 行第 12 列格式有误：同一设置项写了两次：请删去其中一行"),
        ("[limits\n", "方括号 \\[ \\] 没有配对"),
    ],
)
def test_config__a_syntax_error__is_told_in_chinese_with_line_column_and_what_to_do(tmp_path, text, words):
    """A coordinator edits nianbao.toml in Notepad with a Chinese input method: the error names the line,
    its column and text, says what is wrong and what to type instead, with no English parser words."""
    from processor.config import ConfigError, load_settings

    config = tmp_path / "nianbao.toml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=words) as caught:
        load_settings(config=config)
    message = str(caught.value)
    assert message.startswith(f"配置文件“{config}”第 ") and message.endswith("请按 nianbao init 生成的示例修改后重试。")
    told = re.sub("（该行内容：[^）]*）", "", message.replace(str(config), "").replace("nianbao init", ""))
    assert not re.search("Invalid|Expected|Cannot|Unterminated|Illegal|Unclosed|line|column", told)


@pytest.mark.parametrize(
    ("setting", "words"),
    [
        ("year = 1999", "汇总年度 1999 没有对应的报告格式：现有格式适用于 2019 年及以后的年度报告。请改正 year。"),
        ('edition = "2020"', "edition = “2020”不是已有的报告格式（现有：2019、2021）"),
        ('edition = "2019"', "edition = “2019”与汇总年度 2025 不符，2025 年度的报告应使用 2021年版格式"),
        ('roster = "名单.csv"', "找不到单位名册.*名单.csv"),
    ],
)
def test_run__with_a_wrong_setting__says_which_and_makes_no_folder(tmp_path, setting, words):
    """A settings mistake is told before the job starts (exit 2), and leaves no inbox or outbox folder
    behind to confuse the coordinator about where files go."""
    config = city(tmp_path)
    shutil.rmtree(tmp_path / "inbox")
    shutil.rmtree(tmp_path / "outbox", ignore_errors=True)
    key = setting.split(" =")[0]
    lines = [ln for ln in config.read_text(encoding="utf-8").splitlines() if not ln.startswith(f"{key} =")]
    config.write_text("\n".join([*lines, setting, ""]), encoding="utf-8")
    out = runner.invoke(app, ["run", "--config", str(config)])
    assert out.exit_code == 2
    assert re.search(words, out.output)
    assert not (tmp_path / "inbox").exists() and not (tmp_path / "outbox").exists()


def test_feedback_names__that_differ_only_in_letter_case__do_not_overwrite_each_other(tmp_path: Path):
    """Windows sees Report_反馈.xlsx and report_反馈.xlsx as one file: the second gets a number (in one
    batch, and in a later run), so a unit's folder forwarded to it never loses a feedback workbook."""
    config = city(tmp_path)
    inbox = tmp_path / "inbox"
    report(inbox / "a" / "Report.xlsx", "云溪市公安局", values=BROKEN_E1, mtime=time.time() - 120)
    report(inbox / "b" / "report.xlsx", "云溪市公安局", values=BROKEN_E1, seed=3, mtime=time.time() - 60)
    first = run(config)
    report(inbox / "REPORT.xlsx", "云溪市公安局", values=BROKEN_E1, seed=4)
    second = run(config)
    names = [Path(f["feedback"]).name for f in (*first["files"], *second["files"])]
    assert names == ["Report_反馈.xlsx", "report_反馈 (2).xlsx", "REPORT_反馈 (3).xlsx"]
    assert len({n.casefold() for n in names}) == 3


def _problems(out: dict[str, Any]) -> list[tuple[str, str]]:
    """(规则, 问题及处理办法) of the summary's 问题清单."""
    import openpyxl

    ws = openpyxl.load_workbook(out["summary"], read_only=True)["问题清单"]
    return [(r[4].rpartition("（")[2].rstrip("）"), r[6]) for r in ws.iter_rows(min_row=4, values_only=True) if r[4]]


def test_roster_rename__the_old_names_report_and_the_new_one_both_counted__is_said_to_be_likely_twice(tmp_path):
    """The coordinator renames 云溪市财政局 in the roster (no alias for the old name); the unit's new report
    comes under the new name. The old report still counts, as a unit outside the roster: the run, the
    summary's 问题清单 and status all say the two may be one agency counted twice, and what to do."""
    config = city(tmp_path)
    report(tmp_path / "inbox" / "财政局.xlsx", "云溪市财政局", seed=1)
    run(config)
    renamed = [("云溪市财政金融局" if n == "云溪市财政局" else n, g, a) for n, g, a in UNITS]
    config = city(tmp_path, units=renamed)
    report(tmp_path / "inbox" / "财政金融局.xlsx", "云溪市财政金融局", seed=2)
    out = run(config)
    [said] = [f for f in out["summary_findings"] if f["rule"] == "outside-roster-twice"]
    assert "“云溪市财政局”不在单位名册中，与名册中的“云溪市财政金融局”名称相近" in said["message"]
    assert "在名册中把“云溪市财政局”加为“云溪市财政金融局”的别名" in said["message"]
    assert ("outside-roster-twice", said["message"]) in _problems(out)
    old = status_json(config)["云溪市财政局"]
    assert old["warnings"] == 1 and old["findings"][0]["rule"] == "outside-roster-twice"
    assert (old["status"], old["status_label"]) == ("warning", "有警告")  # (not 已通过 with a warning)
    import openpyxl

    ws = openpyxl.load_workbook(out["summary"], read_only=True)["报送情况"]
    [row] = [r for r in ws.iter_rows(values_only=True) if "云溪市财政局" in r]
    assert "有警告" in row and any("可能与名册单位重复计入" in str(c) for c in row)
    text = runner.invoke(app, ["status", "--config", str(config)]).stdout
    assert "可能重复计入" in text.replace(" ", "").replace("│", "").replace("\n", "")
    # the coordinator does as told: the old name becomes an alias, the later report counts, once
    aliased = [(n, g, "云溪市财政局" if n == "云溪市财政金融局" else a) for n, g, a in renamed]
    config = city(tmp_path, units=aliased)
    out = run(config)
    assert not [f for f in out["summary_findings"] if f["rule"].startswith("outside-roster")]
    assert status_json(config)["云溪市财政金融局"]["file"] == "财政金融局.xlsx"


def test_roster_removal__a_counted_report_of_a_unit_taken_off_the_roster__is_a_warning_to_settle(tmp_path):
    config = city(tmp_path)
    report(tmp_path / "inbox" / "财政局.xlsx", "云溪市财政局", seed=1)
    run(config)
    config = city(tmp_path, units=[u for u in UNITS if u[0] != "云溪市财政局"])
    out = run(config)
    [said] = [f for f in out["summary_findings"] if f["rule"] == "outside-roster-counted"]
    assert said["message"].startswith(
        "“云溪市财政局”不在单位名册中（可能是名册改过名称或删去了它），其报告“财政局.xlsx”"
    )
    assert "如不应计入，请运行 nianbao withdraw 云溪市财政局 撤回它" in said["message"]
    assert ("outside-roster-counted", said["message"]) in _problems(out)
    # a unit that was never on it already carries unit-unknown (its own file's warning): not said twice
    report(tmp_path / "inbox" / "新单位.xlsx", "云溪市数据局", seed=3)
    out = run(config)
    assert [f["agency"] for f in out["summary_findings"] if f["rule"].startswith("outside-roster")] == ["云溪市财政局"]


def test_summary__a_file_no_unit_could_be_found_for__is_listed_as_such_not_as_the_summary(mixed):
    import openpyxl

    config, _ = mixed
    out = run(config)
    ws = openpyxl.load_workbook(out["summary"], read_only=True)["问题清单"]
    rows = [r for r in ws.iter_rows(values_only=True) if "说明.pdf" in r]
    assert rows and all(r[1] == "（未能识别单位）" for r in rows)


def test_status__in_a_chinese_windows_code_page__draws_its_table_with_ascii_lines(mixed):
    """A GBK console shows box-drawing characters two columns wide: the table would fall apart."""
    import subprocess
    import sys

    config, _ = mixed
    run(config)
    env = {**os.environ, "PYTHONIOENCODING": "gbk"}
    cmd = [sys.executable, "-m", "processor", "status", "--config", str(config)]
    text = subprocess.run(cmd, capture_output=True, env=env, timeout=120, check=True).stdout.decode("gbk")
    assert "云溪市教育局" in text and "|" in text and "┃" not in text and "━" not in text
    utf8 = subprocess.run(cmd, capture_output=True, env={**os.environ, "PYTHONIOENCODING": "utf-8"}, timeout=120)
    assert "┃" in utf8.stdout.decode("utf-8")


def test_status__a_windows_console_in_a_cjk_code_page__draws_ascii_lines_though_python_writes_utf16(monkeypatch):
    """Python writes to a Windows console in UTF-16 whatever its code page: the code page tells."""
    import sys
    import types

    from processor.cli import output

    class Console:
        encoding = "utf-8"

        def isatty(self) -> bool:
            return True

    fake_ctypes = types.SimpleNamespace(windll=types.SimpleNamespace(kernel32=types.SimpleNamespace()))
    monkeypatch.setattr(output, "os", types.SimpleNamespace(name="nt"))
    monkeypatch.setattr(sys, "stdout", Console())
    monkeypatch.setitem(sys.modules, "ctypes", fake_ctypes)
    for code_page, plain in ((936, True), (65001, False), (437, False)):
        fake_ctypes.windll.kernel32.GetConsoleOutputCP = lambda cp=code_page: cp
        assert output.plain_lines() is plain


def test_run__a_file_refused_for_the_jobs_reason__counts_when_sent_again_to_the_right_job(tmp_path: Path):
    """A 2024 report dropped into the 2025 inbox is refused (year-mismatch); loaded with --year 2024 the
    same file must count, not be taken for a duplicate of the refused one."""
    config = city(tmp_path)
    path = report(tmp_path / "inbox" / "交通运输局2024.xlsx", "云溪市教育局", year=2024)
    data = path.read_bytes()
    [entry] = run(config)["files"]
    assert entry["status"] == "rejected"
    late = tmp_path / "补报2024"  # (as its refusal says: a folder of its own)
    late.mkdir()
    (late / path.name).write_bytes(data)
    [entry] = run(config, "--year", "2024", "--inbox", str(late))["files"]
    assert entry["status"] in ("accepted", "warning")


def test_run_json__written_entry_by_entry__is_exactly_what_json_dumps_writes(tmp_path):
    """`run --json` writes its long lists (files, and the summary's findings: ~13,000 内容雷同 at 10,000
    units) one entry at a time, so that they are never all in memory as text: the output is still, to
    the character, json.dumps(…, indent=2) of what it says."""
    config = city(tmp_path)
    same = (
        "本机关认真贯彻落实政府信息公开条例，"
        + "，".join(f"扎实推进第{k}项重点工作并取得明显成效" for k in range(8))
        + "。"
    )
    for k, (name, _, _) in enumerate(UNITS[:3]):
        report(tmp_path / "inbox" / f"{k}.xlsx", name, seed=k, texts={"text.s1": same})
    report(tmp_path / "inbox" / "broken.xlsx", "西山县人民政府", values=BROKEN_E1)
    result = runner.invoke(app, ["run", "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert len(out["files"]) == 4 and any(f["rule"] == "text-similar" for f in out["summary_findings"])
    assert result.stdout.rstrip("\n") == json.dumps(out, ensure_ascii=False, indent=2)


def test_text_similar__another_units_report_sent_with_only_its_name_changed__is_flagged_as_the_same(tmp_path):
    """财政局 sends 教育局's file with only 单位名称 changed: its texts still say 云溪市教育局. Own names are
    masked before texts are compared, and there they are 教育局's own, not 财政局's, so the two texts came
    out different by a clause. The most blatant copy must not be the one that escapes: 完全相同, both ways;
    a copy with the names changed in the texts too is flagged as before."""
    config = city(tmp_path)
    s1 = (
        "云溪市教育局坚持以习近平新时代中国特色社会主义思想为指导，认真贯彻落实《条例》，全年主动公开政府信息48条，"
        "围绕重点领域做好解读回应，依申请公开办理规范，按期答复率100%。加强平台建设，信息公开质量稳步提升。"
    )
    s5 = "一是栏目更新不够及时；二是工作人员业务能力有待提高。下一步，云溪市教育局将完善审核机制，确保按时准确公开。"
    report(tmp_path / "inbox" / "教育局.xlsx", "云溪市教育局", seed=1, texts={"text.s1": s1, "text.s5": s5})
    report(tmp_path / "inbox" / "财政局.xlsx", "云溪市财政局", seed=1, texts={"text.s1": s1, "text.s5": s5})
    swapped = {"text.s1": s1.replace("教育局", "公安局"), "text.s5": s5.replace("教育局", "公安局")}
    report(tmp_path / "inbox" / "公安局.xlsx", "云溪市公安局", seed=1, texts=swapped)
    out = run(config)
    said = [f for f in out["summary_findings"] if f["rule"] == "text-similar" and f["sheet"]]
    by_unit = {}
    for f in said:
        by_unit.setdefault(f["agency"], []).append(f["message"])
    assert set(by_unit) == {"云溪市教育局", "云溪市财政局", "云溪市公安局"}
    assert any("云溪市教育局" in m and "完全相同" in m for m in by_unit["云溪市财政局"])
    assert any("云溪市财政局" in m and "完全相同" in m for m in by_unit["云溪市教育局"])
    # a run with nothing new leaves the summary as it is, and still says what summing found
    again = run(config)
    assert again["summary_unchanged"] and again["text_similar_units"] == out["text_similar_units"] == 3
    assert again["summary_findings"] == out["summary_findings"]  # (内容雷同 too, in full)
    text = runner.invoke(app, ["run", "--config", str(config)]).stdout
    assert "汇总时发现（详见汇总表“问题清单”）：3 个单位的文字部分内容雷同" in text
    # status, which reads only the ledger, lists it among a unit's open problems as the summary's 报送情况 does
    row = status_json(config)["云溪市财政局"]
    assert row["status"] == "accepted" and row["warnings"] == 2
    assert [f["rule"] for f in row["findings"]] == ["text-similar", "text-similar"]
    assert any("云溪市教育局" in f["message"] for f in row["findings"])
    table = runner.invoke(app, ["status", "--config", str(config)]).stdout
    assert "警告 2：文字部分!A" in table and "文字内容雷同" in table


def test_two_files_of_one_name_from_two_folders__the_messages_name_each_by_its_path(tmp_path):
    """Two 年报.xlsx of one unit in one batch, from two folders: "以较晚的“年报.xlsx”为准，“年报.xlsx”不计入" told
    nobody which counts. Each is named by its path in the inbox then."""
    import time

    config = city(tmp_path)
    now = time.time()
    report(tmp_path / "inbox" / "第一批" / "年报.xlsx", "云溪市教育局", seed=1, mtime=now - 7200)
    report(tmp_path / "inbox" / "第二批" / "年报.xlsx", "云溪市教育局", seed=2, mtime=now - 600)
    result = runner.invoke(app, ["run", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "已被本批次较新的“第二批/年报.xlsx”取代，不计入" in result.output
    from processor.ledger import Ledger

    with Ledger(tmp_path / "outbox" / LEDGER_FILE, readonly=True) as ledger:
        later = next(r for r in ledger.files(YEAR) if r.inbox_path == "第二批/年报.xlsx")
    [said] = [f for f in later.findings if f.rule_id == "same-batch-duplicate"]
    assert "“第一批/年报.xlsx”和“第二批/年报.xlsx”" in said.message
    assert "以较晚的“第二批/年报.xlsx”为准计入汇总，“第一批/年报.xlsx”不计入" in said.message
