"""`nianbao validate`: console report, --json (always an array, parity with check_workbook), feedback, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from processor.check import CheckResult, Options, apply_explanations, check, check_workbook
from processor.cli import app
from processor.console import render
from processor.feedback import SHEET
from processor.findings import Report
from tests.submissions import submission, zeros
from tests.workbooks import fill_template

runner = CliRunner()
BROKEN_E1 = {"s3.r1.c1": 5, "s3.r2.c1": 1, "s3.r3_1.c1": 4, "s3.r4.c1": 1}


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("cli")
    return {
        "good": fill_template(
            base / "财政局.xlsx", agency="测试市财政局", values={**zeros(), "s3.r1.c1": 2, "s3.r3_1.c1": 2}
        ),
        "bad": fill_template(base / "住建局.xlsx", agency="测试市住建局", values={**zeros(), **BROKEN_E1}),
        "warned": fill_template(base / "教育局.xlsx", agency="测试市教育局", values=zeros(), texts={"text.s6": "无"}),
    }


def invoke(*args: str):
    return runner.invoke(app, ["validate", *args])


def test_validate__clean_file__exit_0_and_verdict_passed(files):
    result = invoke(str(files["good"]))
    assert result.exit_code == 0, result.output
    assert "文件：财政局.xlsx" in result.stdout and "结论：通过" in result.stdout


def test_validate__file_with_error__exit_1_and_the_error_listed(files):
    result = invoke(str(files["bad"]))
    assert result.exit_code == 1
    assert "结论：退回，请改正后重新提交" in result.stdout
    assert "[错误] E1  三、依申请公开!D6" in result.stdout and "自然人列" in result.stdout


def test_validate__warning_only__exit_0(files):
    result = invoke(str(files["warned"]))
    assert result.exit_code == 0 and "[警告] T4" in result.stdout


def test_validate__several_files__one_error_is_enough_for_exit_1_and_a_summary(files):
    result = invoke(str(files["good"]), str(files["bad"]), str(files["warned"]))
    assert result.exit_code == 1
    assert "共校验 3 个文件：通过 2 个，退回 1 个。" in result.stdout


def test_validate__json__always_an_array_with_the_documented_keys(files):
    result = invoke(str(files["bad"]), "--json")
    assert result.exit_code == 1
    (obj,) = json.loads(result.stdout)
    assert list(obj) == ["file", "agency", "edition", "year", "status", "counts", "findings"]
    assert (obj["file"], obj["agency"], obj["edition"], obj["year"], obj["status"]) == (
        "住建局.xlsx",
        "测试市住建局",
        "2021",
        2025,
        "rejected",
    )
    errors = [f for f in obj["findings"] if f["severity"] == "error"]
    assert [(f["rule"], f["sheet"], f["cell"], f["expected"], f["found"]) for f in errors] == [
        ("E1", "三、依申请公开", "D6", "6", "5")
    ]
    assert {"rule", "severity", "sheet", "cell", "expected", "found", "message"} <= set(errors[0])


def test_validate__json__parity_with_check_workbook(files):
    paths = [files["good"], files["bad"], files["warned"]]
    result = invoke(*map(str, paths), "--json", "--year", "2025", "--text-limit", "20")
    options = Options(year=2025, text_limit=20)
    assert json.loads(result.stdout) == [check_workbook(p, options=options).to_dict() for p in paths]


def test_validate__year_option__other_year_rejected(files):
    result = invoke(str(files["good"]), "--year", "2024", "--json")
    assert result.exit_code == 1
    assert [f["rule"] for f in json.loads(result.stdout)[0]["findings"] if f["severity"] == "error"] == [
        "year-mismatch"
    ]


def test_validate__text_limit_option__long_overview_noticed(files):
    result = invoke(str(files["good"]), "--text-limit", "10", "--json")
    assert [f["rule"] for f in json.loads(result.stdout)[0]["findings"]].count("T3") == 1


def test_validate__feedback_folder__workbooks_for_files_with_findings_only(files, tmp_path):
    out = tmp_path / "反馈"
    result = invoke(str(files["good"]), str(files["bad"]), "--feedback", str(out), "--json")
    assert result.exit_code == 1
    objs = json.loads(result.stdout)
    written = sorted(p.name for p in out.iterdir())
    assert "住建局_反馈.xlsx" in written
    assert objs[1]["feedback"] == str(out / "住建局_反馈.xlsx")
    assert "已生成反馈工作簿" in result.stderr
    wb = openpyxl.load_workbook(out / "住建局_反馈.xlsx")
    assert wb.sheetnames[0] == SHEET


def test_validate__missing_file__exit_2_nothing_checked(files, tmp_path):
    result = invoke(str(files["good"]), str(tmp_path / "没有.xlsx"))
    assert result.exit_code == 2
    assert "找不到文件" in result.stderr and "没有.xlsx" in result.stderr and result.stdout == ""


def test_validate__folder_given__exit_2(tmp_path):
    result = invoke(str(tmp_path))
    assert result.exit_code == 2 and "是文件夹" in result.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [(["--year", "1999"], "--year"), (["--text-limit", "0"], "--text-limit")],
)
def test_validate__impossible_option__exit_2(files, args, words):
    result = invoke(str(files["good"]), *args)
    assert result.exit_code == 2 and words in result.stderr


def test_validate__no_file__usage_exit_2():
    assert invoke("--json").exit_code == 2


def test_validate__help_is_chinese():
    result = runner.invoke(app, ["validate", "--help"])
    assert result.exit_code == 0 and "退出码" in result.stdout and "反馈工作簿" in result.stdout


def test_validate__feedback_folder_without_json__paths_listed_after_the_report(files, tmp_path):
    result = invoke(str(files["bad"]), "--feedback", str(tmp_path))
    assert result.stdout.rstrip().endswith(f"已生成反馈工作簿：{tmp_path / '住建局_反馈.xlsx'}")


def test_render__explained_warning__status_and_explanation_shown():
    this = submission(
        year=2020, values={"s3.r2.c1": 1, "s3.r3_1.c1": 1}, notes=[("I1", "D7", "上年报告数据有误，已更正")]
    )
    last = submission(year=2019, values={"s3.r1.c1": 2, "s3.r4.c1": 2})
    findings = apply_explanations(this, check(this, previous=last))
    text = render([CheckResult("a.xlsx", this, Report(findings), this.spec)])
    assert text.splitlines() == [
        "文件：a.xlsx",
        "单位：测试市测试局　报告年度：2020　格式：2019年版",
        "结论：通过",
        "统计：错误 0 个，警告 0 个，已说明 1 个，提示 0 个",
        "  [已说明] I1  三、依申请公开!D7",
        f"      {findings[0].message}",
        "      情况说明：上年报告数据有误，已更正",
    ]


def test_validate__output_redirected_in_a_code_page_without_the_file_names_characters(files, tmp_path):
    """Chinese Windows encodes redirected output as GBK, which has no "•": a file named 年报•终稿.xlsx
    must not end the command with UnicodeEncodeError. --json is then ASCII (\\u escapes: the same
    document for any consumer); the console text writes "?" for what the code page lacks."""
    import os
    import shutil
    import subprocess
    import sys

    named = tmp_path / "年报•终稿.xlsx"
    shutil.copy(files["bad"], named)
    env = {**os.environ, "PYTHONIOENCODING": "gbk"}
    cmd = [sys.executable, "-m", "processor", "validate", str(named)]
    as_json = subprocess.run([*cmd, "--json"], capture_output=True, env=env, timeout=120)
    assert as_json.returncode == 1, as_json.stderr.decode("gbk", "replace")  # (rejected: E1)
    assert as_json.stdout.isascii()
    (obj,) = json.loads(as_json.stdout)
    assert obj["file"] == "年报•终稿.xlsx" and obj["status"] == "rejected"
    plain = subprocess.run(cmd, capture_output=True, env=env, timeout=120)
    assert plain.returncode == 1 and b"Traceback" not in plain.stderr
    text = plain.stdout.decode("gbk")
    assert "年报?终稿.xlsx" in text and "退回" in text


def test_validate__an_office_lock_file__is_said_to_be_one_naming_the_file_to_check(tmp_path):
    """~$教育局.xlsx sits beside the workbook while it is open in Excel: a clerk may pick it by mistake."""
    lock = tmp_path / "~$教育局.xlsx"
    lock.write_bytes(b"\x0bclerk")
    result = invoke(str(lock))
    assert result.exit_code == 2
    assert "“~$教育局.xlsx”是Office/WPS 打开文件时生成的锁定文件，不是报告" in result.output
    assert "请校验原文件“教育局.xlsx”" in result.output


def test_validate__feedback_of_a_returned_feedback_workbook__never_overwrites_it(tmp_path):
    """A clerk fixes 某局年报_反馈.xlsx and checks it with --feedback into its own folder: the new feedback
    takes a numbered name, the file checked is left as it was."""
    import hashlib

    from tests.test_batch import BROKEN_E1

    checked = fill_template(tmp_path / "某局年报_反馈.xlsx", values=BROKEN_E1)
    before = hashlib.sha256(checked.read_bytes()).hexdigest()
    result = invoke(str(checked), "--feedback", str(tmp_path))
    assert result.exit_code == 1
    assert hashlib.sha256(checked.read_bytes()).hexdigest() == before
    assert (tmp_path / "某局年报_反馈 (2).xlsx").is_file()


def test_validate__a_pattern_cmd_passes_as_typed__is_expanded_and_a_lock_file_among_the_files_is_skipped(tmp_path):
    """On Windows, cmd hands `validate 收件\\*.xlsx` over unexpanded; a workbook open in Excel has a ~$ lock
    file beside it: the workbooks are checked, the lock file is skipped with a line, not the whole command."""
    fill_template(tmp_path / "教育局.xlsx", agency="测试市教育局")
    (tmp_path / "~$教育局.xlsx").write_bytes(b"\x0bclerk")
    result = invoke(str(tmp_path / "*.xlsx"))
    assert result.exit_code in (0, 1), result.output
    assert "文件：教育局.xlsx" in result.output
    assert "跳过：“~$教育局.xlsx”是Office/WPS 打开文件时生成的锁定文件" in result.output
    assert invoke(str(tmp_path / "*.xls")).exit_code == 2  # (nothing matches: said, as a missing file is)
