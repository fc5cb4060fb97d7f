"""`nianbao template`: the edition follows the year, contradictions are clear errors, help is Chinese."""

from __future__ import annotations

import subprocess
import sys

import openpyxl
from typer.testing import CliRunner

from processor.cli import app

runner = CliRunner()


def _meta(path):
    return {r[0].value: r[1].value for r in openpyxl.load_workbook(path)["_meta"].iter_rows()}


def test_year_chooses_the_edition_and_the_agency_is_prefilled(tmp_path):
    out = tmp_path / "住建局.xlsx"
    result = runner.invoke(app, ["template", "-o", str(out), "--year", "2025", "--agency", "绥芬河市住房和城乡建设局"])
    assert result.exit_code == 0, result.output
    assert "2021年版" in result.output and str(out) in result.output
    meta = _meta(out)
    assert (meta["edition"], meta["year"], meta["agency"]) == ("2021", "2025", "绥芬河市住房和城乡建设局")


def test_year_2020_uses_the_2019_edition(tmp_path):
    out = tmp_path / "t.xlsx"
    assert runner.invoke(app, ["template", "-o", str(out), "--year", "2020"]).exit_code == 0
    assert _meta(out)["edition"] == "2019"


def test_edition_contradicting_the_year_is_a_clear_error(tmp_path):
    out = tmp_path / "t.xlsx"
    result = runner.invoke(app, ["template", "-o", str(out), "--year", "2025", "--edition", "2019"])
    assert result.exit_code == 2
    assert "2025 年度的报告应使用 2021年版格式" in result.output
    assert not out.exists()


def test_unknown_edition_and_missing_year_are_errors(tmp_path):
    result = runner.invoke(app, ["template", "-o", str(tmp_path / "t.xlsx"), "--edition", "2030"])
    assert result.exit_code == 2 and "没有“2030”版格式" in result.output
    result = runner.invoke(app, ["template", "-o", str(tmp_path / "t.xlsx")])
    assert result.exit_code == 2 and "--year" in result.output


def test_all_writes_the_blank_template_of_every_edition(tmp_path):
    result = runner.invoke(app, ["template", "--all", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "政府信息公开年报模板_2019年版.xlsx",
        "政府信息公开年报模板_2021年版.xlsx",
    ]


def test_help_is_in_chinese():
    result = runner.invoke(app, ["template", "--help"])
    assert result.exit_code == 0
    for words in ("生成供各单位填报的年报模板", "报告年度", "显示本帮助并退出"):
        assert words in result.output
    assert "Show this message" not in result.output


def test_python_dash_m_processor_works():
    result = subprocess.run(
        [sys.executable, "-m", "processor", "--version"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and result.stdout.startswith("nianbao ")
