"""`nianbao withdraw`: a counted report stops counting, the unit's earlier one counts again, the outputs follow."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import openpyxl

from processor.archive import LEDGER_FILE
from processor.check import check_workbook
from processor.cli import app
from processor.ledger import Ledger
from tests.test_batch import UNITS, YEAR, city, report, run, runner, status_json
from tests.test_batch_outputs import COUNTY_UNITS, NEW, _county_rollup, _input_sum
from tests.workbooks import needs_soffice, roundtrip


def withdraw(config: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["withdraw", "--config", str(config), *args])
    return result.exit_code, result.output


def city_total(out: dict) -> float:
    [path] = [Path(p) for p in out["reports"]]
    return check_workbook(path).submission.values[NEW]


def test_withdraw__a_wrong_file__the_units_earlier_report_counts_again(tmp_path: Path):
    config = city(tmp_path, title="云溪市")
    first = report(tmp_path / "inbox" / "教育局.xlsx", UNITS[0][0], seed=1)
    first_sum = _input_sum([first], NEW)
    run(config)
    # another unit's clerk sends a file with 教育局's name in it: it replaces 教育局's report
    report(tmp_path / "inbox" / "民政局的文件.xlsx", UNITS[0][0], seed=2)
    out = run(config)
    assert status_json(config)["云溪市教育局"]["file"] == "民政局的文件.xlsx"
    code, text = withdraw(config, "民政局的文件.xlsx", "--reason", "民政局误报")
    assert code == 0, text
    assert "已撤回：“民政局的文件.xlsx”" in text and "现按此前收到的“教育局.xlsx”（台账编号 #1，" in text
    row = status_json(config)["云溪市教育局"]
    assert (row["file"], row["status"]) == ("教育局.xlsx", "accepted")
    assert city_total(out) == first_sum  # (the summary was written again by withdraw itself)
    told = _results(tmp_path / "outbox" / "反馈" / f"{YEAR}年度" / "云溪市教育局" / "民政局的文件_反馈.xlsx")
    assert ["结论", "已由汇总单位撤回，不计入汇总（原因见下）；如需计入，请重新提交"] in told  # (it said 通过)
    assert any("由汇总单位撤回（民政局误报），不再计入汇总" in str(c) for row in told for c in row)
    assert "已在反馈工作簿中告知该单位：" in text
    [kept] = (tmp_path / "outbox").rglob("民政局的文件.xlsx")  # (the original stays archived, under 已撤回)
    assert kept.parent.parent.name == "已撤回" and kept.parent.name == "云溪市教育局"
    # the coordinator changes their mind: the same file dropped again is taken as new, and counts
    shutil.copy(next((tmp_path / "outbox").rglob("民政局的文件.xlsx")), tmp_path / "inbox" / "民政局的文件.xlsx")
    out = run(config)
    assert [f["status"] for f in out["files"]] == ["accepted"]
    assert status_json(config)["云溪市教育局"]["file"] == "民政局的文件.xlsx"


def test_withdraw__at_a_terminal__says_what_would_change_and_withdraws_only_on_yes(tmp_path: Path, monkeypatch):
    config = city(tmp_path, title="云溪市")
    report(tmp_path / "inbox" / "教育局.xlsx", UNITS[0][0], seed=1)
    run(config)
    report(tmp_path / "inbox" / "民政局的文件.xlsx", UNITS[0][0], seed=2)
    run(config)
    monkeypatch.setattr("processor.cli.withdraw.interactive", lambda: True)
    said_no = runner.invoke(app, ["withdraw", "--config", str(config), UNITS[0][0]], input="\n")
    assert said_no.exit_code == 2, said_no.output
    assert "将撤回：" in said_no.output and "“民政局的文件.xlsx”" in said_no.output
    assert "撤回后 云溪市教育局 改按此前收到的“教育局.xlsx”" in said_no.output
    assert "已取消，什么都没有改动" in said_no.output
    assert status_json(config)["云溪市教育局"]["file"] == "民政局的文件.xlsx"  # (unchanged)
    said_yes = runner.invoke(app, ["withdraw", "--config", str(config), UNITS[0][0]], input="y\n")
    assert said_yes.exit_code == 0, said_yes.output
    assert status_json(config)["云溪市教育局"]["file"] == "教育局.xlsx"
    # --yes (or --json, or no terminal: a script) does not ask
    report(tmp_path / "inbox" / "第三份.xlsx", UNITS[0][0], seed=3)
    run(config)
    quiet = runner.invoke(app, ["withdraw", "--config", str(config), "--yes", "第三份.xlsx"], input="")
    assert quiet.exit_code == 0 and "确认撤回吗" not in quiet.output


def _results(path: Path) -> list[list[object]]:
    """A feedback workbook's 校验结果 sheet, row by row, blank cells left out."""
    sheet = openpyxl.load_workbook(path, read_only=True)["校验结果"]
    return [[c for c in row if c is not None] for row in sheet.iter_rows(values_only=True)]


def test_withdraw__the_only_report__the_unit_is_missing_again(tmp_path: Path):
    config = city(tmp_path, title="云溪市")
    report(tmp_path / "inbox" / "测试.xlsx", UNITS[1][0], seed=3)
    run(config)
    code, text = withdraw(config, UNITS[1][0], "--json")  # (by unit name)
    done = json.loads(text)
    assert code == 0 and done["restored"] is None
    assert status_json(config)[UNITS[1][0]]["status"] == "missing"
    # its clerk is told in the unit's feedback folder, as for any file, and the ledger knows the workbook
    assert Path(done["feedback"]).parent.name == UNITS[1][0] and Path(done["feedback"]).name == "测试_反馈.xlsx"
    assert any("未注明原因" in str(c) for row in _results(Path(done["feedback"])) for c in row)


@needs_soffice
def test_withdraw__a_clean_report_that_had_no_feedback__gets_one_saying_it_was_withdrawn(tmp_path: Path):
    config = city(tmp_path, title="云溪市")
    clean = report(tmp_path / "inbox" / "公安局.xlsx", "云溪市公安局")
    roundtrip([clean])  # (totals calculated by the office suite: nothing to say, so no feedback)
    [file] = run(config)["files"]
    assert file["findings"] == [] and file["feedback"] is None
    _, text = withdraw(config, "公安局.xlsx", "--reason", "测试文件", "--json")
    done = json.loads(text)
    assert done["feedback"].endswith(f"/反馈/{YEAR}年度/云溪市公安局/公安局_反馈.xlsx")
    assert ["结论", "已由汇总单位撤回，不计入汇总（原因见下）；如需计入，请重新提交"] in _results(
        Path(done["feedback"])
    )
    with Ledger(tmp_path / "outbox" / LEDGER_FILE) as ledger:  # (so no later file's feedback takes its name)
        assert ledger.get(done["withdrawn"]["id"]).feedback_path == f"反馈/{YEAR}年度/云溪市公安局/公安局_反馈.xlsx"


def test_withdraw__after_a_rejected_file_and_its_correction__the_unit_is_missing_not_rejected_again(tmp_path: Path):
    """The unit's first file was 退回, its correction passed, and the correction is withdrawn: the error the
    unit already fixed is not brought back; status and 报送情况 say the report was withdrawn and why."""
    import openpyxl

    from tests.test_batch import BROKEN_E1

    config = city(tmp_path, title="云溪市")
    report(tmp_path / "inbox" / "公安局.xlsx", "云溪市公安局", values=BROKEN_E1)
    run(config)
    report(tmp_path / "inbox" / "公安局（改正）.xlsx", "云溪市公安局", seed=2)
    run(config)
    code, text = withdraw(config, "公安局（改正）.xlsx", "--reason", "测试文件", "--json")
    assert code == 0
    row = status_json(config)["云溪市公安局"]
    assert (row["status"], row["errors"], row["file"]) == ("missing", 0, None)
    assert row["withdrawn"] == "“公安局（改正）.xlsx”已撤回（测试文件）"
    table = runner.invoke(app, ["status", "--config", str(config)]).stdout
    assert "已撤回" in table.replace(" ", "").replace("│", "").replace("\n", "")
    ws = openpyxl.load_workbook(json.loads(text)["summary"], read_only=True)["报送情况"]
    [shown] = [r for r in ws.iter_rows(values_only=True) if "云溪市公安局" in r]
    assert "“公安局（改正）.xlsx”已撤回（测试文件），不计入合计" in shown


def test_withdraw__a_county_report__its_units_count_from_their_own_reports(tmp_path: Path):
    rollup, county_sum = _county_rollup(tmp_path)
    config = city(tmp_path, units=COUNTY_UNITS, title="云溪市")
    shutil.copy(rollup, tmp_path / "inbox" / "西山县汇总.xlsx")
    direct = _input_sum([report(tmp_path / "inbox" / "西山县教育局.xlsx", "西山县教育局", seed=20)], NEW)
    out = run(config)
    assert city_total(out) == county_sum and out["units"]["covered"] == 2
    assert withdraw(config, "西山县")[0] == 0
    assert status_json(config)["西山县教育局"]["status"] in ("accepted", "warning")
    assert status_json(config)["西山县城关镇人民政府"]["status"] == "missing"
    assert city_total(out) == direct


def test_withdraw__nothing_or_several_match__says_so_and_changes_nothing(tmp_path: Path):
    config = city(tmp_path, title="云溪市")
    report(tmp_path / "inbox" / "市直" / "年报.xlsx", UNITS[0][0], seed=1)
    report(tmp_path / "inbox" / "财政" / "年报.xlsx", UNITS[1][0], seed=2)
    run(config)
    code, text = withdraw(config, "不存在.xlsx")
    assert code == 2 and "没有名为“不存在.xlsx”" in text
    code, text = withdraw(config, "年报.xlsx")
    assert code == 2 and "对应多份" in text and "#1" in text and "#2" in text
    assert '请改用台账编号，如 nianbao withdraw "#' in text and "（# 前后要加引号）" in text  # (the advice is whole)
    assert {r["status"] for r in status_json(config).values() if r["file"]} == {"accepted"}
    assert withdraw(config, "#2")[0] == 0
    assert status_json(config)[UNITS[1][0]]["status"] == "missing"


def test_withdraw__the_file_left_in_the_inbox_when_it_was_processed__is_not_counted_again(tmp_path: Path):
    """It was open in Excel when the run archived it (the unlink failed): the next run must not undo the
    withdrawal by taking it for a new file."""
    import os

    config = city(tmp_path, title="云溪市")
    path = report(tmp_path / "inbox" / "测试.xlsx", UNITS[1][0], seed=3)
    data, mtime = path.read_bytes(), path.stat().st_mtime_ns
    run(config)
    assert withdraw(config, "测试.xlsx")[0] == 0
    path.write_bytes(data)  # (as it was left: same place, bytes and mtime)
    os.utime(path, ns=(mtime, mtime))
    out = run(config)
    assert [f["status"] for f in out["files"]] == ["withdrawn"] and not path.exists()
    assert status_json(config)[UNITS[1][0]]["status"] == "missing"


def test_withdraw__a_file_that_had_been_sent_twice__counts_again_when_sent_anew(tmp_path: Path):
    config = city(tmp_path, title="云溪市")
    path = report(tmp_path / "inbox" / "测试.xlsx", UNITS[1][0], seed=3)
    data = path.read_bytes()
    run(config)
    (tmp_path / "inbox" / "测试（再次）.xlsx").write_bytes(data)
    assert [f["status"] for f in run(config)["files"]] == ["duplicate"]
    assert withdraw(config, "测试.xlsx")[0] == 0
    (tmp_path / "inbox" / "测试（第三次）.xlsx").write_bytes(data)
    assert [f["status"] for f in run(config)["files"]] == ["accepted"]
    assert status_json(config)[UNITS[1][0]]["status"] == "accepted"


def test_withdraw__a_county_report_by_the_name_on_its_seal(tmp_path: Path):
    rollup, _ = _county_rollup(tmp_path)
    config = city(tmp_path, units=COUNTY_UNITS, title="云溪市")
    shutil.copy(rollup, tmp_path / "inbox" / "西山县汇总.xlsx")
    run(config)
    assert withdraw(config, "西山县人民政府")[0] == 0
    assert status_json(config)["西山县教育局"]["status"] == "missing"


def test_withdraw__with_by_group__the_group_summaries_follow(tmp_path: Path):
    import openpyxl

    rollup, _ = _county_rollup(tmp_path)
    config = city(tmp_path, units=COUNTY_UNITS, title="云溪市")
    shutil.copy(rollup, tmp_path / "inbox" / "西山县汇总.xlsx")
    out = run(config, "--by-group")
    [county] = [Path(p) for p in out["group_summaries"] if Path(p).parent.name == "西山县"]

    def shown(unit: str) -> list:
        ws = openpyxl.load_workbook(county, read_only=True)["报送情况"]
        return next([c for c in r if c is not None] for r in ws.iter_rows(values_only=True) if unit in r)

    assert "由汇总表涵盖" in shown("西山县教育局")
    assert withdraw(config, "西山县", "--by-group")[0] == 0
    assert "未报送" in shown("西山县教育局")


def test_withdraw__while_another_job_holds_the_outbox__says_to_stop_watch(tmp_path: Path):
    from processor.joblock import job_lock

    config = city(tmp_path, title="云溪市")
    report(tmp_path / "inbox" / "测试.xlsx", UNITS[1][0], seed=3)
    run(config)
    with job_lock(tmp_path / "outbox", 1):
        code, text = withdraw(config, "测试.xlsx", "--wait", "0.2")
    assert code == 3 and "请先按 Ctrl+C 停止它" in text


def test_withdraw__a_unit_outside_the_roster__is_gone_with_its_report_even_after_an_earlier_refusal(tmp_path: Path):
    from tests.test_batch import BROKEN_E1

    config = city(tmp_path, title="云溪市")
    report(tmp_path / "inbox" / "测试1.xlsx", "云溪市测试局", values=BROKEN_E1)
    run(config)
    report(tmp_path / "inbox" / "测试2.xlsx", "云溪市测试局", seed=2)
    run(config)
    assert status_json(config)["云溪市测试局"]["status"] in ("accepted", "warning")
    assert withdraw(config, "测试2.xlsx")[0] == 0
    assert "云溪市测试局" not in status_json(config)  # (not listed as 名册以外的单位 未报送)


def test_withdraw__the_later_of_two_versions_sent_together__the_earlier_ones_feedback_says_it_counts_again(
    tmp_path: Path,
):
    """Two versions in one batch: the earlier one's feedback was rewritten to say the later one replaced it
    (无需再改本文件). The later one is withdrawn: the earlier counts again, and its feedback says so instead
    of still saying it does not count."""
    import os
    import time

    config = city(tmp_path, title="云溪市")
    now = time.time()
    earlier = report(tmp_path / "inbox" / "住建局年报.xlsx", UNITS[0][0], seed=1)
    later = report(tmp_path / "inbox" / "住建局年报（修改）.xlsx", UNITS[0][0], seed=2)
    os.utime(earlier, (now - 3600, now - 3600))
    os.utime(later, (now - 60, now - 60))
    run(config)
    feedback = tmp_path / "outbox" / "反馈" / f"{YEAR}年度" / "云溪市教育局" / "住建局年报_反馈.xlsx"
    assert any(str(c).startswith("已被本单位后来提交的文件取代") for row in _results(feedback) for c in row)
    code, text = withdraw(config, "住建局年报（修改）.xlsx", "--reason", "测试")
    assert code == 0, text
    assert "现按此前收到的“住建局年报.xlsx”（台账编号 #" in text
    assert f"“住建局年报.xlsx”的反馈工作簿已改写为重新计入：{feedback}" in text
    told = _results(feedback)
    assert not any("取代，不计入汇总" in str(c) for row in told for c in row)
    assert ["结论", "通过"] in told
    assert any(
        "取代本文件的“住建局年报（修改）.xlsx”已于" in str(c) and "本文件重新计入汇总" in str(c)
        for row in told
        for c in row
    )
