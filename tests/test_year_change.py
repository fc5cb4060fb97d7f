"""The change of year in one outbox: each year keeps the roster it was collected with, and this year's reports
are compared with last year's through renames (the roster's aliases)."""

from __future__ import annotations

import json
from pathlib import Path

from processor.cli import app
from tests.test_batch import YEAR, city, report, run, runner, status_json

LAST = YEAR - 1
ROSTER_LAST = [  # (name, group, aliases)
    ("云溪市教育局", "市直部门", ""),
    ("云溪市自然资源局", "市直部门", ""),
    ("云溪市文化局", "市直部门", ""),
    ("云溪市旅游局", "市直部门", ""),
]
ROSTER_NOW = [  # 自然资源局 renamed, 文化局 and 旅游局 merged (their old names as aliases), 数据局 new
    ("云溪市教育局", "市直部门", ""),
    ("云溪市自然资源和规划局", "市直部门", "云溪市自然资源局"),
    ("云溪市文化和旅游局", "市直部门", "云溪市文化局；云溪市旅游局"),
    ("云溪市数据局", "市直部门", ""),
]


def last_year_collected(tmp_path: Path) -> Path:
    """LAST's reports of the four units collected with LAST's roster (each with its 统一社会信用代码); then
    the roster and year of YEAR."""
    city(tmp_path, units=ROSTER_LAST, year=LAST)
    for seed, (name, _, _) in enumerate(ROSTER_LAST, start=1):
        code = {"info.credit_code": f"11530100MB0{seed:07d}"}
        report(tmp_path / "inbox" / f"{name}{LAST}.xlsx", name, year=LAST, seed=seed, texts=code)
    out = run(city(tmp_path, units=ROSTER_LAST, year=LAST))
    assert out["units"]["accepted"] == 4
    return city(tmp_path, units=ROSTER_NOW, year=YEAR)  # (the coordinator's edits for the new year)


def test_a_renamed_unit_is_compared_with_its_report_under_the_old_name(tmp_path: Path):
    config = last_year_collected(tmp_path)
    report(tmp_path / "inbox" / "自然资源和规划局.xlsx", "云溪市自然资源和规划局", seed=7)  # (its 上年结转 ≠ last 结转)
    report(tmp_path / "inbox" / "文旅局.xlsx", "云溪市文化和旅游局", seed=8)
    out = run(config)
    by_file = {f["file"]: f for f in out["files"]}
    assert "I1" in {f["rule"] for f in by_file["自然资源和规划局.xlsx"]["findings"]}
    # two of last year's units merged into one: no one report to compare with, so no I1 against either
    assert "I1" not in {f["rule"] for f in by_file["文旅局.xlsx"]["findings"]}


def test_a_late_correction_to_last_year__uses_the_roster_last_year_was_collected_with(tmp_path: Path):
    config = last_year_collected(tmp_path)
    report(tmp_path / "inbox" / "教育局.xlsx", "云溪市教育局", seed=9)
    run(config)
    late = tmp_path / f"补报{LAST}"
    report(late / "教育局更正.xlsx", "云溪市教育局", year=LAST, seed=10)
    result = runner.invoke(app, ["run", "--config", str(config), "--year", str(LAST), "--inbox", str(late)])
    assert result.exit_code == 0, result.output
    assert f"按台账中保存的 {LAST} 年度名册处理（4 个单位" in result.output
    old = json.loads(runner.invoke(app, ["status", "--config", str(config), "--year", str(LAST), "--json"]).stdout)
    assert [u["unit"] for u in old["units"]] == [n for n, _, _ in ROSTER_LAST]  # (none 名册以外, none 未报送)
    assert {u["status"] for u in old["units"]} == {"accepted"} and old["roster_note"]
    # this year's summary sums last year by last year's units: the merged two are both in 上年
    assert "上年已通过的 4 个单位" in _overview(tmp_path)
    assert status_json(config)["云溪市数据局"]["status"] == "missing"  # (this year: this year's roster)
    # --roster names the file to use for that year, whatever was saved
    given = ["status", "--config", str(config), "--year", str(LAST), "--json", "--roster", str(tmp_path / "名册.csv")]
    told = json.loads(runner.invoke(app, given).stdout)
    assert told["roster_note"] is None and "云溪市数据局" in {u["unit"] for u in told["units"]}


def test_a_past_year_without_a_saved_roster__says_it_uses_todays(tmp_path: Path):
    """A ledger whose last year was collected by an older version keeps no roster for it."""
    config = last_year_collected(tmp_path)
    _forget_roster_kept(tmp_path)  # (a ledger begun before rosters were kept)
    report(tmp_path / "inbox" / "教育局.xlsx", "云溪市教育局", seed=9)
    run(config)
    result = runner.invoke(app, ["status", "--config", str(config), "--year", str(LAST)])
    assert f"台账中没有保存 {LAST} 年度的名册" in result.output and "--roster" in result.output


def _overview(tmp_path: Path) -> str:
    return _sheet(tmp_path, "概览")


def _sheet(tmp_path: Path, name: str) -> str:
    import openpyxl

    [path] = (tmp_path / "outbox" / "汇总").glob(f"{YEAR}年*汇总.xlsx")
    sheet = openpyxl.load_workbook(path, read_only=True)[name]
    return "\n".join(str(c) for row in sheet.iter_rows(values_only=True) for c in row if c is not None)


def test_withdraw_of_last_years_file__says_which_year_it_is_in(tmp_path: Path):
    config = last_year_collected(tmp_path)
    result = runner.invoke(app, ["withdraw", "--config", str(config), f"云溪市旅游局{LAST}.xlsx"])
    assert result.exit_code == 2
    assert f"它是 {LAST} 年度的报告：要撤回它，请加 --year {LAST}" in result.output


def test_last_years_report_sent_again_this_year__is_refused_for_its_year_with_feedback(tmp_path: Path):
    config = last_year_collected(tmp_path)
    [kept] = (tmp_path / "outbox").rglob(f"云溪市教育局{LAST}.xlsx")
    (tmp_path / "inbox" / "教育局年报.xlsx").write_bytes(kept.read_bytes())  # (the clerk picked last year's file)
    [entry] = run(config)["files"]
    assert entry["status"] == "rejected"
    [mismatch] = [f for f in entry["findings"] if f["rule"] == "year-mismatch"]
    assert f"与已计入 {LAST} 年度汇总的该单位报告完全相同，可能是选错了文件" in mismatch["message"]
    assert "补报" not in mismatch["message"]  # (sending it in late would only be a duplicate)
    assert entry["feedback"] and Path(entry["feedback"]).is_file()  # (the clerk is told, not "重复提交")
    # each year's feedback in a folder of its own: a unit's folder is forwarded as it is, this year's only
    assert Path(entry["feedback"]).parent == tmp_path / "outbox" / "反馈" / f"{YEAR}年度" / "云溪市教育局"
    # 未报送 still (that file counted for its own year), and said why wherever the unit is listed
    row = status_json(config)["云溪市教育局"]
    assert row["status"] == "missing"
    assert (
        row["other_year"] == f"收到的“教育局年报.xlsx”是 {LAST} 年度的报告，已退回（反馈已写明），本年度的报告尚未收到"
    )
    table = runner.invoke(app, ["status", "--config", str(config)]).stdout
    assert "收到的“" in table  # (the table folds long cells: the start of the words)
    assert f"收到的“教育局年报.xlsx”是 {LAST} 年度的报告" in _sheet(tmp_path, "报送情况")


def test_next_years_reports_while_the_config_still_names_this_year__the_coordinator_is_told_to_change_it(tmp_path):
    config = city(tmp_path)
    report(tmp_path / "inbox" / "教育局.xlsx", "云溪市教育局", year=YEAR + 1, seed=1)
    result = runner.invoke(app, ["run", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert f"被退回的文件中有 1 份是 {YEAR + 1} 年度的报告（教育局.xlsx）" in result.output
    assert f"请把 nianbao.toml 中的 year 改为 {YEAR + 1}" in result.output
    assert len(list((tmp_path / "outbox" / "归档" / f"{YEAR}年度" / "被退回").rglob("教育局.xlsx"))) == 1  # (as said)
    # the clerk's feedback does not send them to 补报 a later year
    told = run(config, "--year", str(YEAR))  # (nothing new)
    assert told["files"] == []
    [row] = [u for u in status_json(config).values() if u["unit"] == "云溪市教育局"]
    [mismatch] = [f for f in row["findings"] if f["rule"] == "year-mismatch"]
    assert "补报" not in mismatch["message"] and f"year 应为 {YEAR + 1}" in mismatch["message"]


def test_a_run_for_a_later_year_by_mistake__does_not_make_this_year_a_past_one(tmp_path: Path):
    """A typo'd --year whose files were all refused: this year's roster file is still read, and kept."""
    config = city(tmp_path)
    report(tmp_path / "inbox" / "教育局.xlsx", "云溪市教育局", seed=1)
    run(config)
    report(tmp_path / "typo" / "财政局.xlsx", "云溪市财政局", seed=2)  # (a report of YEAR, refused in YEAR + 1)
    run(config, "--year", str(YEAR + 1), "--inbox", str(tmp_path / "typo"))
    city(tmp_path, units=[*ROSTER_NOW, ("云溪市新设局", "市直部门", "")])  # (the roster file edited meanwhile)
    out = run(config)
    assert out["roster_note"] is None and "云溪市新设局" in status_json(config)


def test_watch_for_a_past_year__does_not_keep_todays_roster_as_that_years(tmp_path: Path):
    config = last_year_collected(tmp_path)
    _forget_roster_kept(tmp_path)  # (a ledger begun before rosters were kept)
    report(tmp_path / "inbox" / "教育局.xlsx", "云溪市教育局", seed=9)
    run(config)  # (YEAR begun)
    assert _watch_rereads_roster(config, year=LAST)[1] is None  # (still none: today's file is not that year's)


def test_a_unit_merged_into_one_that_keeps_its_name__both_count_in_last_year_and_no_comparison(tmp_path: Path):
    """文化局 merged into 旅游局, which keeps its name (文化局 its alias)."""
    city(tmp_path, units=ROSTER_LAST, year=LAST)
    for seed, (name, _, _) in enumerate(ROSTER_LAST, start=1):
        report(tmp_path / "inbox" / f"{name}{LAST}.xlsx", name, year=LAST, seed=seed)
    run(city(tmp_path, units=ROSTER_LAST, year=LAST))
    kept = [
        ("云溪市教育局", "市直部门", ""),
        ("云溪市自然资源局", "市直部门", ""),
        ("云溪市旅游局", "市直部门", "云溪市文化局"),
    ]
    config = city(tmp_path, units=kept, year=YEAR, by_group=True)
    report(tmp_path / "inbox" / "旅游局.xlsx", "云溪市旅游局", seed=8)
    [entry] = run(config)["files"]
    assert "I1" not in {f["rule"] for f in entry["findings"]}  # (half of the merged unit is nothing to compare with)
    assert "上年已通过的 4 个单位" in _overview(tmp_path)
    [group] = (tmp_path / "outbox" / "汇总" / "分组").rglob(f"{YEAR}年*市直部门*汇总.xlsx")
    import openpyxl

    sheet = openpyxl.load_workbook(group, read_only=True)["概览"]
    assert "上年已通过的 4 个单位" in "\n".join(str(c) for row in sheet.iter_rows(values_only=True) for c in row if c)


def test_withdraw_by_unit_name__with_a_report_only_last_year__does_not_say_it_is_last_years(tmp_path: Path):
    config = last_year_collected(tmp_path)
    result = runner.invoke(app, ["withdraw", "--config", str(config), "云溪市教育局"])
    assert result.exit_code == 2
    assert f"{YEAR} 年度没有名为“云溪市教育局”的、正在计入汇总的报告" in result.output
    assert f"它在 {LAST} 年度有正在计入的报告" in result.output and "它是" not in result.output


def test_a_late_correction_job__does_not_tell_to_change_the_year_already_set(tmp_path: Path):
    config = last_year_collected(tmp_path)
    late = tmp_path / f"补报{LAST}"
    report(late / "教育局.xlsx", "云溪市教育局", year=YEAR, seed=3)  # (this year's report, in the late folder)
    result = runner.invoke(app, ["run", "--config", str(config), "--year", str(LAST), "--inbox", str(late)])
    assert result.exit_code == 0 and "请把 nianbao.toml 中的 year 改为" not in result.output


def test_a_merged_unit_of_which_only_one_reported_last_year__is_not_compared_with_half_of_it(tmp_path: Path):
    city(tmp_path, units=ROSTER_LAST, year=LAST)
    report(tmp_path / "inbox" / f"文化局{LAST}.xlsx", "云溪市文化局", year=LAST, seed=3)  # (旅游局 sent nothing)
    run(city(tmp_path, units=ROSTER_LAST, year=LAST))
    config = city(tmp_path, units=ROSTER_NOW, year=YEAR)
    report(tmp_path / "inbox" / "文旅局.xlsx", "云溪市文化和旅游局", seed=8)
    [entry] = run(config)["files"]
    assert not {"I1", "I2"} & {f["rule"] for f in entry["findings"]}


def test_merged_units_of_a_ledger_that_kept_no_roster_for_last_year__both_count_in_last_year(tmp_path: Path):
    """A ledger from before rosters were kept: last year's units are told apart by the names their reports
    were counted under, when the reports give different 统一社会信用代码."""
    config = last_year_collected(tmp_path)
    _forget_roster_kept(tmp_path)  # (a ledger begun before rosters were kept)
    report(tmp_path / "inbox" / "教育局.xlsx", "云溪市教育局", seed=9)
    run(config)
    assert "上年已通过的 4 个单位" in _overview(tmp_path)


def test_a_unit_renamed_within_last_year__reports_under_both_names__counts_once_in_last_year(tmp_path: Path):
    """Renamed in the middle of LAST (the old name made an alias), its correction came under the new name:
    both reports stand counted under their names. With no roster kept for LAST, the same 统一社会信用代码 (or
    none) says they are one unit, not two merged."""
    units = [("云溪市教育局", "市直部门", ""), ("云溪市自然资源局", "市直部门", "")]
    city(tmp_path, units=units, year=LAST)
    code = {"info.credit_code": "11530100MB00000017"}
    report(tmp_path / "inbox" / "教育局.xlsx", "云溪市教育局", year=LAST, seed=1)
    report(tmp_path / "inbox" / "自然资源局.xlsx", "云溪市自然资源局", year=LAST, seed=2, texts=code)
    run(city(tmp_path, units=units, year=LAST))
    renamed = [units[0], ("云溪市自然资源和规划局", "市直部门", "云溪市自然资源局")]
    report(tmp_path / "inbox" / "自然资源和规划局.xlsx", "云溪市自然资源和规划局", year=LAST, seed=3, texts=code)
    run(city(tmp_path, units=renamed, year=LAST))
    config = city(tmp_path, units=renamed, year=YEAR)
    _forget_roster_kept(tmp_path)  # (a ledger begun before rosters were kept)
    report(tmp_path / "inbox" / "教育局.xlsx", "云溪市教育局", seed=9)
    run(config)
    assert "上年已通过的 2 个单位" in _overview(tmp_path)


def test_a_past_years_run_on_the_inbox_with_files_in_it__is_refused_before_anything_is_done(tmp_path: Path):
    config = last_year_collected(tmp_path)
    report(tmp_path / "inbox" / "教育局.xlsx", "云溪市教育局", seed=9)  # (this year's, waiting in the inbox)
    result = runner.invoke(app, ["run", "--config", str(config), "--year", str(LAST)])
    assert result.exit_code == 2 and f"--inbox 补报{LAST}" in result.output
    assert (tmp_path / "inbox" / "教育局.xlsx").is_file()  # (left where it was)
    (tmp_path / "inbox" / "教育局.xlsx").unlink()
    (tmp_path / "inbox" / "Thumbs.db").write_bytes(b"\0")  # (what run itself skips is not in the way)
    (tmp_path / "inbox" / "~$教育局.xlsx").write_bytes(b"\0")
    assert runner.invoke(app, ["run", "--config", str(config), "--year", str(LAST)]).exit_code == 0


def test_templates_for_a_past_year__are_made_for_that_years_units(tmp_path: Path):
    config = last_year_collected(tmp_path)
    report(tmp_path / "inbox" / "教育局.xlsx", "云溪市教育局", seed=9)
    run(config)
    out = tmp_path / f"下发{LAST}"
    result = runner.invoke(app, ["templates", "--config", str(config), "--year", str(LAST), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name.split("_")[0] for p in out.iterdir()) == sorted(n for n, _, _ in ROSTER_LAST)


def test_watch_through_the_change_of_year__keeps_no_new_roster_as_the_old_years(tmp_path: Path):

    config = city(tmp_path, units=ROSTER_LAST, year=LAST)
    report(tmp_path / "inbox" / "教育局.xlsx", "云溪市教育局", year=LAST, seed=1)
    run(config)
    # started in LAST, still running while the coordinator changes year and roster: it goes on with LAST's
    in_use, kept = _watch_rereads_roster(config, change=lambda: city(tmp_path, units=ROSTER_NOW, year=YEAR))
    assert in_use == [n for n, _, _ in ROSTER_LAST]
    assert kept is not None and [u.name for u in kept[0]] == [n for n, _, _ in ROSTER_LAST]


def _watch_rereads_roster(config: Path, *, year: int | None = None, change=lambda: None):
    """A watch job of `year` (default: the configured one) re-reading the roster file after `change` (and a
    touch of it); returns the names of the roster it then uses, and the roster kept with LAST in the ledger."""
    import os

    from processor.batch import Job, saved_roster
    from processor.config import load_settings
    from processor.ledger import Ledger

    job = Job(load_settings(config=config, year=year), mode="watch")
    try:
        change()
        roster = config.parent / "名册.csv"
        later = roster.stat().st_mtime + 5
        os.utime(roster, (later, later))
        job.reload_roster()
        in_use = [u.name for u in job.roster or []]
    finally:
        job.close()
    with Ledger(config.parent / "outbox" / "ledger.sqlite", readonly=True) as ledger:
        return in_use, saved_roster(ledger, LAST)


def test_another_years_report_of_a_unit_outside_that_years_roster__does_not_list_it_in_that_year(tmp_path: Path):
    config = last_year_collected(tmp_path)
    late = tmp_path / f"补报{LAST}"
    report(late / "数据局.xlsx", "云溪市数据局", seed=4)  # (YEAR's report of a unit new in YEAR, in LAST's folder)
    runner.invoke(app, ["run", "--config", str(config), "--year", str(LAST), "--inbox", str(late)])
    (tmp_path / "inbox" / "数据局.xlsx").write_bytes(next((tmp_path / "outbox").rglob("数据局.xlsx")).read_bytes())
    run(config)  # (counted in YEAR, where it belongs)
    old = json.loads(runner.invoke(app, ["status", "--config", str(config), "--year", str(LAST), "--json"]).stdout)
    assert "云溪市数据局" not in {u["unit"] for u in old["units"]}


def _forget_roster_kept(tmp_path: Path) -> None:
    """The ledger as an earlier version left it: no roster kept for LAST."""
    import sqlite3

    with sqlite3.connect(tmp_path / "outbox" / "ledger.sqlite") as db:
        db.execute("DELETE FROM meta WHERE key=?", (f"roster.{LAST}",))
