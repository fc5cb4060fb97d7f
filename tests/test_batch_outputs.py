"""`nianbao run` writes the consolidated figures as a filled report, and per-group outputs with --by-group."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from processor.check import check_workbook
from processor.cli import app
from tests.test_batch import UNITS, YEAR, city, report, run, runner, status_json
from tests.workbooks import needs_soffice, read_by_names, roundtrip, set_cells

COUNTY_UNITS = [
    *UNITS[:2],
    ("西山县教育局", "西山县/县直部门", ""),
    ("西山县城关镇人民政府", "西山县/乡镇街道", "城关镇"),
]
NEW = "s3.r1.c1"  # 一、本年新收 · 自然人


def _input_sum(paths: list[Path], code: str) -> float:
    name = "nb_" + code.replace(".", "_")
    return sum(read_by_names(p)[name] or 0 for p in paths)


def test_run_writes_the_city_figures_as_a_filled_report_template(tmp_path):
    config = city(tmp_path, title="云溪市")
    files = [report(tmp_path / "inbox" / f"{n}.xlsx", n, seed=i) for i, (n, _, _) in enumerate(UNITS[:3])]
    expected = _input_sum(files, NEW)
    out = run(config)
    [path] = [Path(p) for p in out["reports"]]
    assert path.name == f"{YEAR}年云溪市政府信息公开年报汇总_上报用.xlsx"
    result = check_workbook(path)
    sub = result.submission
    assert (sub.kind, sub.units, sub.agency, sub.year) == ("rollup", 3, "云溪市", YEAR)
    assert sub.values[NEW] == expected
    # only the texts 一 and 五 are left for the coordinator to write
    assert {f.rule_id for f in result.report.errors} == {"T1", "T2"}


def test_by_group_writes_one_summary_and_report_per_group(tmp_path):
    config = city(tmp_path, units=COUNTY_UNITS, title="云溪市")
    county = []
    for i, (name, group, _) in enumerate(COUNTY_UNITS):
        path = report(tmp_path / "inbox" / f"{name}.xlsx", name, seed=10 + i)
        if group.startswith("西山县"):
            county.append(path)
    expected = _input_sum(county, NEW)
    out = run(config, "--by-group")
    groups = {Path(p).parent.name for p in out["group_summaries"]}
    assert groups == {"市直部门", "西山县", "西山县-县直部门", "西山县-乡镇街道"}
    [county_report] = [Path(p) for p in out["reports"] if Path(p).parent.name == "西山县"]
    sub = check_workbook(county_report).submission
    assert (sub.kind, sub.units, sub.agency) == ("rollup", 2, "西山县")
    assert sub.values[NEW] == expected
    assert all(Path(p).exists() for p in out["group_summaries"])
    # a nested group's outputs are named with its county (乙县 may have a 乡镇街道 too)
    [town] = [Path(p) for p in out["reports"] if Path(p).parent.name == "西山县-乡镇街道"]
    assert "西山县乡镇街道" in town.name and check_workbook(town).submission.agency == "西山县乡镇街道"


def test_by_group_set_in_nianbao_toml__as_the_readme_says(tmp_path):
    config = city(tmp_path, units=COUNTY_UNITS, by_group=True)
    report(tmp_path / "inbox" / "教育局.xlsx", COUNTY_UNITS[0][0])
    out = run(config)
    assert {Path(p).parent.name for p in out["group_summaries"]} >= {"市直部门", "西山县"}
    assert not run(config, "--no-by-group")["group_summaries"]
    for wrong in ("by_group = 1", "title = true"):  # (a number is not a bool, nor a bool a name)
        text = config.read_text(encoding="utf-8").replace("by_group = true", wrong)
        config.write_text(text, encoding="utf-8")
        result = runner.invoke(app, ["run", "--config", str(config)])
        assert result.exit_code == 2 and f"{wrong.split()[0]}（" in result.output and "类型不对" in result.output
        config.write_text(text.replace(wrong, "by_group = true"), encoding="utf-8")


def test_by_group_once__a_later_run_without_it__says_the_group_summaries_were_not_updated(tmp_path):
    """A coordinator ran --by-group once; later runs without it leave those workbooks as they were: the run
    says so (they would show old figures unseen), and --json lists them."""
    config = city(tmp_path, units=COUNTY_UNITS, title="云溪市")
    report(tmp_path / "inbox" / "教育局.xlsx", COUNTY_UNITS[0][0], seed=1)
    written = run(config, "--by-group")["group_summaries"]
    assert run(config)["stale_group_summaries"] == []  # (nothing changed since: they are up to date)
    report(tmp_path / "inbox" / "西山县教育局.xlsx", "西山县教育局", seed=2)
    result = runner.invoke(app, ["run", "--config", str(config)])
    assert result.exit_code == 0
    text = result.stdout
    assert f"中的分组汇总表 {len(written)} 个是此前用 --by-group 生成的，本次没有更新" in text
    report(tmp_path / "inbox" / "财政局.xlsx", COUNTY_UNITS[1][0], seed=3)
    assert sorted(run(config)["stale_group_summaries"]) == sorted(written)
    assert sorted(run(config)["stale_group_summaries"]) == sorted(written)  # (nothing new, still out of date)
    assert run(config, "--by-group")["stale_group_summaries"] == []
    withdrawn = runner.invoke(app, ["withdraw", "西山县教育局", "--config", str(config)])
    assert withdrawn.exit_code == 0, withdrawn.output
    # (the advice works as given: running withdraw again would find nothing left to withdraw)
    assert "没有随本次撤回更新，数字可能已过时：请运行 nianbao run --by-group 更新它们" in withdrawn.stdout
    assert "不要再运行一次本命令" in withdrawn.stdout


def test_a_county_report_in_the_city_inbox_counts_once_for_its_units(tmp_path):
    # The county consolidates its own units...
    county_dir = tmp_path / "county"
    county_dir.mkdir()
    county_units = [u for u in COUNTY_UNITS if u[1].startswith("西山县")]
    county_conf = city(county_dir, units=[(n, g.split("/", 1)[1], a) for n, g, a in county_units], title="西山县")
    county_files = [
        report(county_dir / "inbox" / f"{n}.xlsx", n, seed=20 + i) for i, (n, _, _) in enumerate(county_units)
    ]
    county_expected = _input_sum(county_files, NEW)
    county_out = run(county_conf)
    [county_report] = [Path(p) for p in county_out["reports"]]
    # ...writes 一 and 五 into its roll-up report and submits it to the city, where one of its
    # units also sent its own file directly.
    set_cells(
        county_report,
        {"text.s1": "全县汇总：本年度共收到申请若干件，均已办结。", "text.s5": "个别乡镇更新不及时，将加强督促。"},
    )
    config = city(tmp_path, units=COUNTY_UNITS, title="云溪市")
    shutil.copy(county_report, tmp_path / "inbox" / "西山县汇总.xlsx")
    archived = next((county_dir / "outbox").rglob(county_files[0].name))
    shutil.copy(archived, tmp_path / "inbox" / county_files[0].name)
    city_file = report(tmp_path / "inbox" / "云溪市教育局.xlsx", "云溪市教育局", seed=30)
    expected = county_expected + _input_sum([city_file], NEW)
    out = run(config)
    [summary] = [Path(out["summary"])]
    assert summary.exists()
    [city_report] = [Path(p) for p in out["reports"]]
    total = check_workbook(city_report).submission.values[NEW]
    # the county's figures count once (through its roll-up), plus the city department's
    assert total == expected
    # what summing found is said by the run too, not only in the workbook's 问题清单
    assert [f["rule"] for f in out["summary_findings"] if f["rule"] != "text-similar"] == ["rollup-overlap"]
    # ...and the run's lines and `status` say what the summary says: the county's units are covered by
    # its roll-up (not missing), the roll-up is not a roster unit, the roster still has 4 units
    assert out["missing"] == ["云溪市财政局"]
    assert out["units"] == {
        **{"expected": 4, "accepted": 1, "warning": 0, "explained": 0, "rejected": 0, "missing": 1, "covered": 2},
        **{"outside_roster": 0, "rollups": 1},
    }
    text = runner.invoke(app, ["run", "--config", str(config)]).output
    assert "名册单位 4 个：已计入汇总 1，由县区汇总表涵盖 2，被退回 0，未报送 1。" in text
    assert "县区汇总表 1 份：西山县（有警告，涵盖名册单位 2 个）" in text
    status = runner.invoke(app, ["status", "--config", str(config)]).output
    assert "名册单位 4 个：已通过 1，由汇总表涵盖 2，未报送 1；另收到县区汇总表 1 份：西山县（有警告）" in status
    rows = {
        r["unit"]: r
        for r in json.loads(runner.invoke(app, ["status", "--config", str(config), "--json"]).stdout)["units"]
    }
    assert (rows["西山县教育局"]["status"], rows["西山县教育局"]["status_label"]) == (
        "covered",
        "由汇总表涵盖（西山县）",
    )
    assert (rows["西山县"]["on_roster"], rows["西山县"]["rollup"]) == (False, True)


# ---- outputs left as they are when nothing they are made from changed ---------------------------


def _stamps(out: dict) -> dict[str, tuple[int, int]]:
    """Each output's (inode, mtime): a rewrite renames a new file into place, so the inode changes even
    where the file system's clock is too coarse to tell two writes apart."""
    paths = [out["summary"], *out["reports"], *out["group_summaries"]]
    return {p: (Path(p).stat().st_ino, Path(p).stat().st_mtime_ns) for p in paths if Path(p).exists()}


def test_a_run_with_nothing_new_leaves_the_summary_untouched_and_says_so(tmp_path):
    """A province's summary takes seconds to write, and one open in Excel cannot be replaced: a run
    that received nothing and changed no setting leaves the outputs as they are (same bytes anyway)."""
    config = city(tmp_path, title="云溪市")
    report(tmp_path / "inbox" / "教育局.xlsx", "云溪市教育局")
    first = run(config, "--by-group")
    assert first["summary_unchanged"] is False
    stamps = _stamps(first)
    second = run(config, "--by-group")
    assert second["summary"] == first["summary"] and second["reports"] == first["reports"]
    assert second["group_summaries"] == first["group_summaries"]
    assert second["summary_unchanged"] is True
    assert _stamps(second) == stamps
    log = (tmp_path / "outbox" / "日志" / "nianbao.log").read_text(encoding="utf-8")
    assert "台账、名册和设置自上次生成以来没有变化，汇总表保持原样" in log
    console = runner.invoke(app, ["run", "--config", str(config), "--by-group"])
    assert "保持原样" in console.stdout


def test_the_outputs_are_written_again_when_anything_they_show_may_have_changed(tmp_path):
    config = city(tmp_path, title="云溪市")
    report(tmp_path / "inbox" / "教育局.xlsx", "云溪市教育局")
    out = run(config)

    def rewritten(*args: str) -> bool:
        before = _stamps(out)
        after = _stamps(run(config, *args))
        return all(after[p] != before.get(p) for p in after)  # every output, not only the summary

    summary, [rollup] = Path(out["summary"]), [Path(p) for p in out["reports"]]
    summary.unlink()  # deleted by someone
    assert rewritten() and summary.is_file()
    rollup.unlink()  # only the roll-up report deleted
    assert rewritten() and rollup.is_file()
    data = summary.read_bytes()
    summary.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # saved over by someone: same size, other bytes
    assert rewritten()
    roster = tmp_path / "名册.csv"
    text = roster.read_text(encoding="utf-8")
    roster.write_text(text.replace("云溪市财政局,,市直部门,", "云溪市财政局,,市直部门,财政局"), encoding="utf-8")
    assert rewritten()  # an alias added: a file may now count for another unit
    roster.write_text(roster.read_text(encoding="utf-8") + "云溪市审计局,,市直部门,\n", encoding="utf-8")
    assert rewritten()  # a unit added to the roster: one more 未报送
    conf = config.read_text(encoding="utf-8")
    config.write_text(conf.replace('"云溪市"', '"云溪市人民政府"'), encoding="utf-8")
    assert rewritten()  # another title
    config.write_text(config.read_text(encoding="utf-8") + "similar_scan_limit = 200\n", encoding="utf-8")
    assert rewritten()  # another 内容雷同 setting
    assert rewritten("--by-group")  # group summaries asked for
    report(tmp_path / "inbox" / "财政局.xlsx", "云溪市财政局")
    assert rewritten()  # a new report
    last = run(config)
    assert last["summary_unchanged"] and _stamps(last) == _stamps(run(config))  # and then nothing new


def test_the_summary_of_the_run_that_received_the_files__is_the_one_rebuilt_from_the_ledger(tmp_path):
    """The run keeps what it just checked for its summary instead of reading it back from the ledger:
    the summary (and the roll-up report) is byte for byte the one written from the ledger alone."""
    config = city(tmp_path, title="云溪市")
    for i, (name, _, _) in enumerate(UNITS[:4]):
        report(tmp_path / "inbox" / f"{name}.xlsx", name, seed=20 + i)
    out = run(config)
    summary, [rollup] = Path(out["summary"]), [Path(p) for p in out["reports"]]
    first = summary.read_bytes(), rollup.read_bytes()
    summary.unlink()
    rollup.unlink()
    again = run(config)
    assert again["summary_unchanged"] is False
    assert (summary.read_bytes(), rollup.read_bytes()) == first


def test_the_outputs_key_follows_the_form_s_content_not_where_nianbao_is_installed(tmp_path):
    # a new checkout or virtual environment elsewhere must not make a province's summary be written again
    from dataclasses import replace

    from processor.batch import _outputs_key
    from processor.ledger import Ledger
    from processor.spec import get_spec

    spec = get_spec("2021")
    with Ledger(tmp_path / "l.sqlite") as ledger:
        key = _outputs_key(ledger, None, spec, YEAR, "云溪市", False)
        moved = replace(spec, source=str(tmp_path / "elsewhere" / Path(spec.source).name))
        assert _outputs_key(ledger, None, moved, YEAR, "云溪市", False) == key
        assert _outputs_key(ledger, None, spec.with_params("text-similar", scan_limit=7), YEAR, "云溪市", False) != key


def test_by_group__a_new_file_rewrites_only_the_summaries_of_its_groups__each_as_a_fresh_rebuild(tmp_path):
    """A province has ~650 groups (`run --by-group` at 10,000 units: ~100 s); a new report changes only
    the outputs of the groups it is in. Each group's 生成时间 is the last change among its own units."""
    import datetime as dt

    import openpyxl

    from processor.ledger import Ledger

    config = city(tmp_path, units=COUNTY_UNITS, title="云溪市")
    for i, (name, _, _) in enumerate(COUNTY_UNITS[:3]):
        report(tmp_path / "inbox" / f"{name}.xlsx", name, seed=30 + i)
    first = run(config, "--by-group")
    before = _stamps(first)
    report(tmp_path / "inbox" / "城关镇.xlsx", "西山县城关镇人民政府", seed=40)  # 西山县/乡镇街道
    second = run(config, "--by-group")
    after = _stamps(second)
    assert second["group_summaries"] == first["group_summaries"]
    changed = {p for p in after if after[p] != before.get(p)}
    assert {Path(p).parent.name for p in changed if p in second["group_summaries"]} == {"西山县", "西山县-乡镇街道"}
    assert {Path(p).parent.name for p in changed if p in second["reports"]} == {"汇总", "西山县", "西山县-乡镇街道"}
    # 生成时间 (and the workbook's created time): the last file of the group's own units
    with Ledger(tmp_path / "outbox" / "ledger.sqlite", readonly=True) as ledger:
        done = {row.unit: row.processed_at for row in ledger.files(YEAR)}
    for path in second["group_summaries"]:
        group = Path(path).parent.name
        members = [n for n, g, _ in COUNTY_UNITS if g.replace("/", "-").startswith(group) and n in done]
        times = [dt.datetime.fromisoformat(done[n]).replace(tzinfo=None, microsecond=0) for n in members]
        assert openpyxl.load_workbook(path, read_only=True).properties.created == max(times), group
    # every output is what a fresh rebuild from the same ledger writes, byte for byte
    kept = {p: Path(p).read_bytes() for p in [*second["group_summaries"], *second["reports"], second["summary"]]}
    for p in kept:
        Path(p).unlink()
    assert run(config, "--by-group")["summary_unchanged"] is False
    assert {p: Path(p).read_bytes() for p in kept} == kept


def _group_outputs(out: dict) -> list[str]:
    return [*out["group_summaries"], *[p for p in out["reports"] if "分组" in p]]


def _rebuilt_the_same(config: Path, out: dict) -> bool:
    """Every group output as it is now equals what a fresh rebuild from the same ledger writes."""
    kept = {p: Path(p).read_bytes() for p in _group_outputs(out)}
    for p in kept:
        Path(p).unlink()
    again = run(config, "--by-group")
    return sorted(_group_outputs(again)) == sorted(kept) and all(Path(p).read_bytes() == b for p, b in kept.items())


def test_by_group__an_alias_that_maps_last_year_s_report__rewrites_the_group(tmp_path):
    """Last year's report of 西山县教育局 came under an older name; an alias added now makes it the unit's
    last year (上年 figures, 内容雷同 with its own text): the group's outputs change though no file did
    (a helper's review: the county's summary was left without its 上年 figures)."""
    config = city(tmp_path, units=COUNTY_UNITS, title="云溪市")
    report(tmp_path / "inbox" / "old.xlsx", "西山县教育体育局", year=YEAR - 1, seed=5)
    run(config, "--year", str(YEAR - 1))
    for i, (name, _, _) in enumerate(COUNTY_UNITS):
        report(tmp_path / "inbox" / f"{i}.xlsx", name, seed=30 + i)
    before = _stamps(run(config, "--by-group"))
    roster = tmp_path / "名册.csv"
    roster.write_text(
        roster.read_text(encoding="utf-8").replace(
            "西山县教育局,,西山县/县直部门,", "西山县教育局,,西山县/县直部门,西山县教育体育局"
        ),
        encoding="utf-8",
    )
    second = run(config, "--by-group")
    changed = {Path(p).parent.name for p, st in _stamps(second).items() if st != before.get(p)}
    assert {"西山县", "西山县-县直部门"} <= changed and "市直部门" not in changed
    assert _rebuilt_the_same(config, second)


def test_by_group__a_file_no_unit_is_found_for__is_listed_in_the_whole_summary_only(tmp_path):
    config = city(tmp_path, units=COUNTY_UNITS, title="云溪市")
    for i, (name, _, _) in enumerate(COUNTY_UNITS):
        report(tmp_path / "inbox" / f"{i}.xlsx", name, seed=30 + i)
    before = _stamps(run(config, "--by-group"))
    (tmp_path / "inbox" / "扫描件.pdf").write_bytes(b"%PDF-1.4 not a workbook")
    second = run(config, "--by-group")
    changed = {p for p, st in _stamps(second).items() if st != before.get(p)}
    assert changed == {second["summary"], *[p for p in second["reports"] if "分组" not in p]}
    assert _rebuilt_the_same(config, second)


def test_by_group__two_groups_whose_folder_names_coincide__each_keeps_its_own_outputs(tmp_path):
    # 甲-乙/丙 and 甲/乙/丙 would both be 分组/甲-乙-丙: the later one in roster order is numbered
    units = [("甲乙丙局", "甲-乙/丙", ""), ("甲乙丙镇", "甲/乙/丙", "")]
    config = city(tmp_path, units=units)
    for i, (name, _, _) in enumerate(units):
        report(tmp_path / "inbox" / f"{i}.xlsx", name, seed=70 + i)
    out = run(config, "--by-group")
    folders = [Path(p).parent.name for p in out["group_summaries"]]
    assert len(folders) == len(set(folders)) and {"甲-乙-丙", "甲-乙-丙 (2)"} <= set(folders)
    assert all(Path(p).is_file() for p in [*out["group_summaries"], *out["reports"]])
    assert _rebuilt_the_same(config, out)


def test_by_group__runs_without_it_in_between__the_next_one_rewrites_only_the_groups_changed_since(tmp_path):
    # e.g. `watch` all day, `run --by-group` in the evening: the groups' keys stay on record meanwhile
    config = city(tmp_path, units=COUNTY_UNITS, title="云溪市")
    for i, (name, _, _) in enumerate(COUNTY_UNITS[:3]):
        report(tmp_path / "inbox" / f"{i}.xlsx", name, seed=30 + i)
    before = _stamps(run(config, "--by-group"))
    report(tmp_path / "inbox" / "城关镇.xlsx", "西山县城关镇人民政府", seed=40)  # 西山县/乡镇街道
    assert not run(config)["group_summaries"]
    out = run(config, "--by-group")
    changed = {
        Path(p).parent.name for p, st in _stamps(out).items() if st != before.get(p) and p in out["group_summaries"]
    }
    assert changed == {"西山县", "西山县-乡镇街道"}
    assert _rebuilt_the_same(config, out)


def test_by_group__a_group_summary_held_open__the_others_are_written_and_the_next_run_writes_it(tmp_path, monkeypatch):
    """On Windows a group's summary open in Excel cannot be replaced: it is said (exit 1), the other
    outputs are written, and the run after writes the one that was missing."""
    from processor import summary as summary_mod
    from processor.atomic import FileInUse

    config = city(tmp_path, units=COUNTY_UNITS, title="云溪市")
    for i, (name, _, _) in enumerate(COUNTY_UNITS):
        report(tmp_path / "inbox" / f"{name}.xlsx", name, seed=40 + i)
    real = summary_mod.write_summary

    def held(path, *a, **k):
        if Path(path).parent.name == "西山县":
            raise FileInUse(Path(path))
        return real(path, *a, **k)

    monkeypatch.setattr(summary_mod, "write_summary", held)
    result = runner.invoke(app, ["run", "--config", str(config), "--by-group"])
    assert result.exit_code == 1
    assert "无法写出分组汇总表" in result.output and "未能写出的分组汇总表 1 个" in result.output
    groups = {p.parent.name for p in (tmp_path / "outbox" / "汇总" / "分组").rglob("*汇总.xlsx")}
    assert groups == {"市直部门", "西山县-县直部门", "西山县-乡镇街道"}
    assert (tmp_path / "outbox" / "汇总" / "2025年政府信息公开年报汇总.xlsx").is_file()
    monkeypatch.setattr(summary_mod, "write_summary", real)  # (closed in Excel)
    out = run(config, "--by-group")
    assert out["failed_outputs"] == [] and {Path(p).parent.name for p in out["group_summaries"]} >= {"西山县"}
    assert any(p.parent.name == "西山县" for p in (tmp_path / "outbox" / "汇总" / "分组").rglob("*汇总.xlsx"))


@pytest.mark.parametrize("saved_by", ["openpyxl", pytest.param("libreoffice", marks=needs_soffice)])
def test_run__a_上报用_report_the_county_typed_its_texts_into__is_kept_and_its_texts_carried(tmp_path, saved_by):
    """The README tells a county to write 文字部分 into its 上报用 report; a late unit's file then makes the
    next run write new figures: the edited file is kept beside it and the texts are in the new one."""
    config = city(tmp_path, title="云溪市")
    report(tmp_path / "inbox" / "教育局.xlsx", UNITS[0][0], seed=1)
    [path] = [Path(p) for p in run(config)["reports"]]
    typed = {
        "text.s1": "本年度全市政府信息公开工作总体情况良好。" * 3,
        "info.filler": "李四",
        "info.phone": "0453-1234567",
    }
    note = ("I1", "D7", "个别单位上年口径调整，已核实无误。")
    set_cells(path, {**typed, "note.n01.rule": note[0], "note.n01.cell": note[1], "note.n01.text": note[2]})
    if saved_by == "libreoffice":
        saved = roundtrip([path])[0]
        shutil.move(saved, path)
    edited = path.read_bytes()
    report(tmp_path / "inbox" / "财政局.xlsx", UNITS[1][0], seed=2)
    out = run(config)
    [aside] = [Path(p) for p in out["set_aside"]]
    assert aside.parent == path.parent and "修改过的副本" in aside.name and aside.read_bytes() == edited
    sub = check_workbook(path).submission
    assert sub.units == 2  # the new figures …
    assert {code: sub.texts[code] for code in typed} == typed  # … with what the county typed
    # a second late file: nothing to set aside now, and the texts are still carried
    report(tmp_path / "inbox" / "公安局.xlsx", UNITS[2][0], seed=3)
    out = run(config)
    assert out["set_aside"] == []
    sub = check_workbook(path).submission
    assert sub.units == 3 and {code: sub.texts[code] for code in typed} == typed
    assert [(n.rule, n.cell, n.text) for n in sub.notes if n.text] == [note]  # (情况说明 too)


def test_run__an_output_never_edited__is_simply_replaced(tmp_path):
    config = city(tmp_path, title="云溪市")
    report(tmp_path / "inbox" / "教育局.xlsx", UNITS[0][0], seed=1)
    run(config)
    report(tmp_path / "inbox" / "财政局.xlsx", UNITS[1][0], seed=2)
    out = run(config)
    assert out["set_aside"] == [] and not list((tmp_path / "outbox").rglob("*修改过的副本*"))


def _county_rollup(tmp_path: Path, title: str = "西山县") -> tuple[Path, float]:
    """The 上报用 report of 西山县's own run over its two units, and their sum of NEW."""
    county_dir = tmp_path / "county"
    county_dir.mkdir()
    county_units = [(n, g.split("/", 1)[1], a) for n, g, a in COUNTY_UNITS if g.startswith("西山县")]
    conf = city(county_dir, units=county_units, title=title)
    files = [report(county_dir / "inbox" / f"{n}.xlsx", n, seed=20 + i) for i, (n, _, _) in enumerate(county_units)]
    total = _input_sum(files, NEW)
    [path] = [Path(p) for p in run(conf)["reports"]]
    set_cells(path, {"text.s1": "全县汇总：本年度共收到申请若干件，均已办结。", "text.s5": "个别乡镇更新不及时。"})
    return path, total


@pytest.mark.parametrize("title, typed", [("云溪市西山县", None), ("西山县", "西山县人民政府")])
def test_a_county_report_named_in_full__still_stands_for_its_group_and_counts_once(tmp_path, title, typed):
    """A county names itself as its seal reads (云溪市西山县, 西山县人民政府); the city's roster group is 西山县.
    Taken for a unit outside the roster, it was summed beside its own units' direct reports."""
    rollup, county_sum = _county_rollup(tmp_path, title)
    if typed:
        set_cells(rollup, {"info.agency": typed})
    config = city(tmp_path, units=COUNTY_UNITS, title="云溪市")
    shutil.copy(rollup, tmp_path / "inbox" / "西山县汇总.xlsx")
    report(tmp_path / "inbox" / "西山县教育局.xlsx", "西山县教育局", seed=20)  # (also sent directly)
    city_sum = _input_sum([report(tmp_path / "inbox" / "云溪市教育局.xlsx", "云溪市教育局", seed=30)], NEW)
    out = run(config)
    [city_report] = [Path(p) for p in out["reports"]]
    assert check_workbook(city_report).submission.values[NEW] == county_sum + city_sum
    assert out["units"]["covered"] == 2 and out["units"]["rollups"] == 1 and out["units"]["outside_roster"] == 0


def test_a_county_report_no_roster_group_is_found_for__is_refused_not_summed_until_the_roster_has_it(tmp_path):
    rollup, county_sum = _county_rollup(tmp_path, "东山县")
    units = [*UNITS[:2], ("东山县教育局", "东山区/县直部门", ""), ("东山县城关镇人民政府", "东山区/乡镇街道", "")]
    config = city(tmp_path, units=units, title="云溪市")
    shutil.copy(rollup, tmp_path / "inbox" / "东山县汇总.xlsx")
    city_sum = _input_sum([report(tmp_path / "inbox" / "云溪市教育局.xlsx", "云溪市教育局", seed=30)], NEW)
    out = run(config)
    [entry] = [f for f in out["files"] if f["file"] == "东山县汇总.xlsx"]
    assert entry["status"] == "rejected"
    [refusal] = [f for f in entry["findings"] if f["rule"] == "rollup-group-unknown"]
    assert "“东山县”" in refusal["message"] and "“东山区”" in refusal["message"]  # (the closest group named)
    [city_report] = [Path(p) for p in out["reports"]]
    assert check_workbook(city_report).submission.values[NEW] == city_sum  # not summed
    # the coordinator mends the roster (the group is 东山县); the next run counts it, with no new file
    config = city(tmp_path, units=[(n, g.replace("东山区", "东山县"), a) for n, g, a in units], title="云溪市")
    out = run(config)
    assert check_workbook(city_report).submission.values[NEW] == county_sum + city_sum
    assert out["units"]["covered"] == 2 and out["units"]["rollups"] == 1


def test_a_county_report_that_lacks_a_unit__does_not_stand_for_it(tmp_path):
    """西山县 ran before its 城关镇 reported: its roll-up sums 教育局 only and says so. At the city, 城关镇 is
    not 由汇总表涵盖: its own report, sent directly, is counted; without one it is 未报送."""
    county_dir = tmp_path / "county"
    county_dir.mkdir()
    county_units = [(n, g.split("/", 1)[1], "") for n, g, _ in COUNTY_UNITS if g.startswith("西山县")]
    county_units = [(n if "城关镇" not in n else "城关镇", g, a) for n, g, a in county_units]  # (named its own way)
    conf = city(county_dir, units=county_units, title="西山县")
    county_sum = _input_sum([report(county_dir / "inbox" / "教育局.xlsx", "西山县教育局", seed=20)], NEW)
    [rollup] = [Path(p) for p in run(conf)["reports"]]
    set_cells(rollup, {"text.s1": "全县汇总：本年度共收到申请若干件，均已办结。", "text.s5": "个别乡镇更新不及时。"})
    sub = check_workbook(rollup).submission
    assert (sub.units, sub.covers) == (1, ["西山县教育局"])
    config = city(tmp_path, units=COUNTY_UNITS, title="云溪市")
    shutil.copy(rollup, tmp_path / "inbox" / "西山县汇总.xlsx")
    out = run(config)
    assert out["units"]["covered"] == 1 and "西山县城关镇人民政府" in out["missing"]
    town = report(tmp_path / "inbox" / "城关镇.xlsx", "西山县城关镇人民政府", seed=21)
    town_sum = _input_sum([town], NEW)
    out = run(config)
    assert out["units"]["covered"] == 1 and out["units"]["accepted"] + out["units"]["warning"] == 1
    [city_report] = [Path(p) for p in out["reports"]]
    assert check_workbook(city_report).submission.values[NEW] == county_sum + town_sum
    status = status_json(config)
    assert status["西山县城关镇人民政府"]["status"] in ("accepted", "warning")
    assert status["西山县教育局"]["status"] == "covered"


def test_a_county_report_naming_a_unit_the_city_roster_lacks__stands_for_its_whole_group(tmp_path):
    """A name the city cannot place may be a unit it does not list or one it lists otherwise: the roll-up
    then stands for the whole group, as before (never a unit counted twice)."""
    from processor.consolidate import UnitResult, named_in

    inside = [
        UnitResult("西山县教育局", ("西山县", "县直部门")),
        UnitResult("西山县城关镇人民政府", ("西山县", "乡镇街道")),
    ]
    assert named_in(["教育局", "城关镇"], inside) == inside
    assert named_in(["西山县教育局"], inside) == inside[:1]
    assert named_in(["西山县教育局", "西山县卫健局"], inside) == inside  # (a name of no unit: all of them)
    assert named_in([], inside) == []
    government = [UnitResult("西山县人民政府", ("西山县",)), UnitResult("西山县人民政府办公室", ("西山县",))]
    assert named_in(["西山县政府办"], government) == government  # (its office is not the government: no match)
    assert named_in(["西山县人民政府办公室"], government) == government[1:]
    assert named_in(["西山县"], government) == government[:1]
    from processor.consolidate import _qualified

    typed = ("河口镇", "西山县教育局", "北山县教育局", "县教育局", "城市管理局", "经济开发区管委会")
    assert [_qualified(n, "西山县") for n in typed] == [
        "西山县河口镇",
        "西山县教育局",
        "北山县教育局",
        "西山县教育局",
        "西山县城市管理局",
        "西山县经济开发区管委会",
    ]


def test_by_group__a_subgroup_under_a_county_report__shows_its_units_covered_not_missing(tmp_path):
    """The city's summary says 由汇总表涵盖 for 西山县's units; the summary of 西山县/县直部门 must not say 未报送."""
    import openpyxl

    rollup, _ = _county_rollup(tmp_path)
    config = city(tmp_path, units=COUNTY_UNITS, title="云溪市")
    shutil.copy(rollup, tmp_path / "inbox" / "西山县汇总.xlsx")
    out = run(config, "--by-group")
    [part] = [Path(p) for p in out["group_summaries"] if Path(p).parent.name == "西山县-县直部门"]
    ws = openpyxl.load_workbook(part)["报送情况"]
    [row] = [[c for c in r if c is not None] for r in ws.iter_rows(values_only=True) if "西山县教育局" in r]
    assert "由汇总表涵盖" in row and "未报送" not in row
    # its 上报用 report sums nothing (its units are in 西山县's): sent up, it is refused, not taken for 0s
    [empty] = [Path(p) for p in out["reports"] if Path(p).parent.name == "西山县-县直部门"]
    result = check_workbook(empty)
    assert not result.report.valid and "rollup-empty" in [f.rule_id for f in result.report.errors]


def test_run__outputs_written_by_a_run_that_failed_midway__are_its_own_not_set_aside_next_time(tmp_path, monkeypatch):
    """A group's 上报用 report held open (FileInUse): the run writes the rest and fails; the next run must
    not take the reports that run wrote for someone's edits."""
    from processor import summary
    from processor.atomic import FileInUse

    config = city(tmp_path, units=COUNTY_UNITS, title="云溪市")
    for i, (name, _, _) in enumerate(COUNTY_UNITS[:3]):
        report(tmp_path / "inbox" / f"{name}.xlsx", name, seed=40 + i)
    run(config, "--by-group")
    report(tmp_path / "inbox" / "城关镇.xlsx", COUNTY_UNITS[3][0], seed=44)
    write = summary.write_rollup_report

    def held(path, *args, **kwargs):
        if "乡镇街道" in str(path):
            raise FileInUse(Path(path))
        return write(path, *args, **kwargs)

    monkeypatch.setattr(summary, "write_rollup_report", held)
    failed = runner.invoke(app, ["run", "--config", str(config), "--json", "--by-group"])
    assert failed.exit_code == 1 and json.loads(failed.stdout)["failed_outputs"]
    monkeypatch.setattr(summary, "write_rollup_report", write)
    out = run(config, "--by-group")
    assert out["set_aside"] == [] and out["failed_outputs"] == []


def test_a_county_report_returned_with_feedback__still_says_which_units_it_sums(tmp_path):
    """A county resubmits the feedback workbook of its refused roll-up (as clerks do): it must keep its list."""
    county_dir = tmp_path / "county"
    county_dir.mkdir()
    conf = city(county_dir, units=[(n, g.split("/", 1)[1], a) for n, g, a in COUNTY_UNITS if g.startswith("西山县")])
    report(county_dir / "inbox" / "教育局.xlsx", "西山县教育局", seed=20)
    [rollup] = [Path(p) for p in run(conf)["reports"]]  # (texts 一、五 not written: refused at the city)
    config = city(tmp_path, units=COUNTY_UNITS, title="云溪市")
    shutil.copy(rollup, tmp_path / "inbox" / "西山县汇总.xlsx")
    out = run(config)
    [entry] = [f for f in out["files"] if f["file"] == "西山县汇总.xlsx"]
    assert entry["status"] == "rejected" and entry["feedback"]
    assert check_workbook(Path(entry["feedback"])).submission.covers == ["西山县教育局"]


def test_a_department_report_of_its_own_subordinate_bodies__counts_as_that_unit(tmp_path):
    """云溪市教育局 sums its schools (not on the city's roster) and sends a roll-up named as itself."""
    county_dir = tmp_path / "dept"
    county_dir.mkdir()
    conf = city(county_dir, units=[("第一中学", "", ""), ("第二中学", "", "")], title="云溪市教育局")
    for i, school in enumerate(("第一中学", "第二中学")):
        report(county_dir / "inbox" / f"{school}.xlsx", school, seed=50 + i)
    [rollup] = [Path(p) for p in run(conf)["reports"]]
    set_cells(rollup, {"text.s1": "全系统汇总：本年度共收到申请若干件，均已办结。", "text.s5": "个别学校更新不及时。"})
    config = city(tmp_path, title="云溪市")
    shutil.copy(rollup, tmp_path / "inbox" / "教育局汇总.xlsx")
    out = run(config)
    [entry] = [f for f in out["files"] if f["file"] == "教育局汇总.xlsx"]
    assert entry["status"] in ("accepted", "warning") and entry["unit"] == "云溪市教育局"


def test_three_levels__a_city_report_names_its_counties_units_as_the_city_roster_does(tmp_path):
    """西山县's roster says 教育局, 城关镇; every county has those. The city's report, sent to the province, must
    name them as 西山县教育局 and 西山县城关镇人民政府, or the province could not tell them from 北山县's."""
    county_dir = tmp_path / "county"
    county_dir.mkdir()
    conf = city(county_dir, units=[("教育局", "县直部门", ""), ("城关镇", "乡镇街道", "")], title="西山县")
    report(county_dir / "inbox" / "教育局.xlsx", "教育局", seed=60)
    report(county_dir / "inbox" / "城关镇.xlsx", "城关镇", seed=61)
    [county_report] = [Path(p) for p in run(conf)["reports"]]
    set_cells(
        county_report, {"text.s1": "全县汇总：本年度共收到申请若干件，均已办结。", "text.s5": "个别乡镇更新不及时。"}
    )
    assert check_workbook(county_report).submission.covers == ["西山县教育局", "西山县城关镇"]  # (title in front)
    city_dir = tmp_path / "city"
    city_dir.mkdir()
    units = [
        ("云溪市财政局", "市直部门", ""),
        *(
            (f"{county}{unit}", f"{county}/{sub}", "")
            for county in ("西山县", "北山县")
            for unit, sub in (("教育局", "县直部门"), ("城关镇人民政府", "乡镇街道"))
        ),
    ]
    config = city(city_dir, units=units, title="云溪市")
    shutil.copy(county_report, city_dir / "inbox" / "西山县汇总.xlsx")
    report(city_dir / "inbox" / "财政局.xlsx", "云溪市财政局", seed=62)
    [city_report] = [Path(p) for p in run(config)["reports"]]
    assert check_workbook(city_report).submission.covers == ["云溪市财政局", "西山县教育局", "西山县城关镇人民政府"]


def _rollup_file(path: Path, agency: str, covers: tuple[str, ...], seed: int) -> Path:
    """A 上报用 report as another nianbao wrote it (its figures a complete report's, its texts written)."""
    from processor.spec import edition_for_year
    from processor.template import Filling, write_workbook
    from tests.test_batch import values

    texts = {
        "text.s1": "全区汇总：本年度共收到申请若干件，均已办结。",
        "text.s5": "个别单位更新不及时。",
        "text.s6": "无",
    }
    texts |= {"info.filler": "张三", "info.phone": "0453-3921234"}
    fill = Filling(
        values=values(seed), texts=texts, year=YEAR, agency=agency, kind="rollup", units=len(covers), covers=covers
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_workbook(path, edition_for_year(YEAR), fill)


def test_two_counties_nested_reports__are_two_units_each_standing_for_its_own_group(tmp_path):
    """A city's --by-group writes 西山县乡镇街道 and 北山县乡镇街道: at the province both groups are 乡镇街道."""
    units = [("云溪市财政局", "云溪市/市直部门", "")]
    units += [(f"{c}城关镇人民政府", f"云溪市/{c}/乡镇街道", "") for c in ("西山县", "北山县")]
    config = city(tmp_path, units=units, title="某省")
    for k, county in enumerate(("西山县", "北山县")):
        _rollup_file(
            tmp_path / "inbox" / f"{county}乡镇.xlsx", f"{county}乡镇街道", (f"{county}城关镇人民政府",), 70 + k
        )
    out = run(config)
    assert [f["status"] for f in out["files"]] in (
        ["accepted"] * 2,
        ["warning"] * 2,
        ["accepted", "warning"],
        ["warning", "accepted"],
    )
    assert not [f for f in out["files"] if any(x["rule"] == "same-batch-duplicate" for x in f["findings"])]
    assert out["units"]["rollups"] == 2 and out["units"]["covered"] == 2
    status = status_json(config)
    assert status["西山县城关镇人民政府"]["status_label"] == "由汇总表涵盖（云溪市西山县乡镇街道）"
    assert status["北山县城关镇人民政府"]["status_label"] == "由汇总表涵盖（云溪市北山县乡镇街道）"


def test_a_county_report_of_no_units_yet__its_typed_texts_are_carried_when_units_come(tmp_path):
    config = city(tmp_path, title="云溪市")
    run(config)  # (nobody has reported: a report of no units)
    [path] = [Path(p) for p in run(config)["reports"]] or [next((tmp_path / "outbox").rglob("*上报用.xlsx"))]
    typed = {"text.s1": "本年度全市政府信息公开工作总体情况良好。" * 3, "info.filler": "李四"}
    set_cells(path, typed)
    report(tmp_path / "inbox" / "教育局.xlsx", UNITS[0][0], seed=1)
    out = run(config)
    assert len(out["set_aside"]) == 1
    sub = check_workbook(path).submission
    assert sub.units == 1 and {code: sub.texts[code] for code in typed} == typed


def test_run__says_on_screen_what_summing_found(tmp_path):
    rollup, _ = _county_rollup(tmp_path)
    config = city(tmp_path, units=COUNTY_UNITS, title="云溪市")
    shutil.copy(rollup, tmp_path / "inbox" / "西山县汇总.xlsx")
    report(tmp_path / "inbox" / "西山县教育局.xlsx", "西山县教育局", seed=20)
    text = runner.invoke(app, ["run", "--config", str(config)]).output
    assert "汇总时发现（详见汇总表“问题清单”）：西山县：汇总表与其所含单位的报告重复报送" in text
    again = run(config)  # (nothing new: the summary is left as it is, what summing found is said again)
    assert again["summary_unchanged"] and [f["rule"] for f in again["summary_findings"]] == ["rollup-overlap"]
    text = runner.invoke(app, ["run", "--config", str(config)]).output
    assert "汇总时发现（详见汇总表“问题清单”）：西山县：汇总表与其所含单位的报告重复报送" in text


CITY_OF_WESTHILL = [
    (name, "西山县", "") for name in ("西山县人民政府办公室", "西山县教育局", "西山县公安局", "西山县白沙镇人民政府")
]


def test_a_county_roster_in_short_names__its_report_names_its_units_so_the_city_counts_the_others_too(tmp_path):
    """西山县's roster says 县政府办公室 (full name as an alias), 教育局, 公安局, 白沙镇; only the first two
    reported to the county, the other two sent their reports to the city. The county's report names its
    units so that the city recognises them (the alias, else 西山县 in front): the city counts 公安局 and
    白沙镇 beside the roll-up, instead of taking the roll-up for the whole county and dropping them."""
    county_dir = tmp_path / "county"
    county_dir.mkdir()
    roster = [
        ("县政府办公室", "县直部门", "西山县人民政府办公室"),
        ("教育局", "县直部门", ""),
        ("公安局", "县直部门", ""),
    ]
    conf = city(county_dir, units=[*roster, ("白沙镇", "乡镇", "")], title="西山县")
    office = report(county_dir / "inbox" / "a.xlsx", "西山县人民政府办公室", seed=1)
    school = report(county_dir / "inbox" / "b.xlsx", "西山县教育局", seed=2)
    county_sum = _input_sum([office, school], NEW)
    [county_report] = [Path(p) for p in run(conf)["reports"]]
    set_cells(
        county_report, {"text.s1": "全县汇总：本年度共收到申请若干件，均已办结。", "text.s5": "个别单位更新不及时。"}
    )
    assert check_workbook(county_report).submission.covers == ["西山县人民政府办公室", "西山县教育局"]
    (tmp_path / "city").mkdir()
    config = city(tmp_path / "city", units=CITY_OF_WESTHILL, title="云溪市")
    shutil.copy(county_report, tmp_path / "city" / "inbox" / "西山县汇总.xlsx")
    direct = [
        report(tmp_path / "city" / "inbox" / "公安局.xlsx", "西山县公安局", seed=3),
        report(tmp_path / "city" / "inbox" / "白沙镇.xlsx", "西山县白沙镇人民政府", seed=5),
    ]
    direct_sum = _input_sum(direct, NEW)
    out = run(config)
    assert out["units"]["covered"] == 2 and not [f for f in out["summary_findings"] if f["rule"].startswith("rollup-")]
    [city_report] = [Path(p) for p in out["reports"]]
    assert check_workbook(city_report).submission.values[NEW] == county_sum + direct_sum
    status = status_json(config)
    assert status["西山县公安局"]["status"] in ("accepted", "warning")
    assert status["西山县教育局"]["status"] == "covered"


def test_a_county_report_naming_a_unit_the_city_cannot_place__says_which_reports_it_took_the_place_of(tmp_path):
    """A name the city cannot place makes the roll-up stand for the whole group; the reports units of that
    group sent themselves are then not summed. A warning names the name and those units, and says how
    to settle it (an alias), so that figures left out are not left out unseen."""
    config = city(tmp_path, units=CITY_OF_WESTHILL, title="云溪市")
    _rollup_file(tmp_path / "inbox" / "西山县汇总.xlsx", "西山县", ("西山县教育局", "县府办"), 80)
    report(tmp_path / "inbox" / "公安局.xlsx", "西山县公安局", seed=3)
    out = run(config)
    [said] = [f for f in out["summary_findings"] if f["rule"] == "rollup-names-unknown"]
    assert "其中“县府办”在名册中找不到对应的单位" in said["message"]
    assert "按涵盖“西山县”的全部单位处理：西山县公安局自己报送的报告没有单独计入合计" in said["message"]
    assert "请在名册中把上述名称加为对应单位的别名" in said["message"]
    assert [f["rule"] for f in out["summary_findings"] if f["rule"].startswith("rollup-")] == [
        "rollup-names-unknown",
        "rollup-overlap",
    ]


def test_a_county_without_a_title__is_told_to_set_it_and_what_it_typed_follows_the_report_renamed(tmp_path):
    """Without `title`, the 上报用 report is 本级's, which the city refuses: the run says to set it. Once set,
    the report has the county's name, and what the county had typed into 本级's comes with it."""
    config = city(tmp_path, units=[("教育局", "县直部门", ""), ("公安局", "县直部门", "")])
    report(tmp_path / "inbox" / "教育局.xlsx", "教育局", seed=1)
    result = runner.invoke(app, ["run", "--config", str(config)])
    assert result.exit_code == 0
    assert (
        '其中的单位名称为“本级”：要交给上级汇总时，请先在 nianbao.toml 中写明本级名称（如 title = "西山县"）'
        in result.stdout
    )
    [untitled] = (tmp_path / "outbox").rglob("*本级*上报用.xlsx")
    typed = {"text.s1": "全县政府信息公开工作总体情况良好，各单位按要求报送。" * 2, "info.filler": "李四"}
    set_cells(untitled, typed)
    config.write_text(config.read_text(encoding="utf-8") + 'title = "西山县"\n', encoding="utf-8")
    out = run(config)
    [path] = [Path(p) for p in out["reports"]]
    assert path.name == f"{YEAR}年西山县政府信息公开年报汇总_上报用.xlsx"
    sub = check_workbook(path).submission
    assert sub.agency == "西山县" and {code: sub.texts[code] for code in typed} == typed
    assert untitled.exists()  # (left as it is)
    report(tmp_path / "inbox" / "公安局.xlsx", "公安局", seed=2)
    sub = check_workbook(Path(run(config)["reports"][0])).submission
    assert sub.units == 2 and {code: sub.texts[code] for code in typed} == typed  # (carried on from then on)
    assert "本级" not in runner.invoke(app, ["run", "--config", str(config)]).stdout


def test_a_rollup_refused_for_its_name__once_sent_again_named_right__is_no_longer_shown_refused(tmp_path):
    """A county without its title sends 本级's report: refused (rollup-group-unknown). It sets the title and
    sends it again as 西山县's: counted. 本级 is then no longer listed as 被退回 anywhere (run, status,
    summary): it was the same county's report (the same units, now with 西山县 in front), settled by the one
    that counts. Another county's report of other units settles nothing."""
    import openpyxl

    units = [*CITY_OF_WESTHILL, ("东山县教育局", "东山县", ""), ("东山县财政局", "东山县", "")]
    config = city(tmp_path, units=units, title="云溪市")
    _rollup_file(tmp_path / "inbox" / "西山县汇总.xlsx", "本级", ("教育局", "公安局"), 81)  # (untitled: bare names)
    first = run(config)
    assert [f["status"] for f in first["files"]] == ["rejected"]
    _rollup_file(tmp_path / "inbox" / "东山县汇总.xlsx", "东山县", ("东山县教育局", "东山县财政局"), 83)
    run(config)
    assert status_json(config)["本级"]["status"] == "rejected"  # (财政局 is none of the units 本级's said)
    _rollup_file(tmp_path / "inbox" / "西山县汇总（改）.xlsx", "西山县", ("西山县教育局", "西山县公安局"), 81)
    out = run(config)
    assert out["units"]["rejected"] == 0 and out["units"]["covered"] == 4
    assert "本级" not in status_json(config)
    text = runner.invoke(app, ["run", "--config", str(config)]).stdout
    assert "本级" not in text and "被退回（需重新提交）" not in text
    shown = openpyxl.load_workbook(
        out["summary"] or next((tmp_path / "outbox").rglob("*年报汇总.xlsx")), read_only=True
    )
    assert not [r for r in shown["报送情况"].iter_rows(values_only=True) if "本级" in r]


def test_a_county_rollup_withdrawn__its_units_are_told_why_they_are_missing(tmp_path):
    """After `withdraw 西山县` the roll-up is no longer listed (it is no roster unit); the units it stood for
    show 未报送, and status, --json and 报送情况 say that 西山县's roll-up was withdrawn, and why."""
    import openpyxl

    config = city(tmp_path, units=CITY_OF_WESTHILL, title="云溪市")
    _rollup_file(tmp_path / "inbox" / "西山县汇总.xlsx", "西山县", ("西山县教育局", "西山县公安局"), 82)
    assert run(config)["units"]["covered"] == 2
    result = runner.invoke(app, ["withdraw", "西山县", "--reason", "应按各单位报告计入", "--config", str(config)])
    assert result.exit_code == 0, result.output
    status = status_json(config)
    said = "“西山县”的汇总表“西山县汇总.xlsx”已撤回（应按各单位报告计入）"
    assert status["西山县教育局"]["status"] == "missing" and status["西山县教育局"]["withdrawn"] == said
    assert status["西山县人民政府办公室"]["withdrawn"] is None  # (in its group, but not one the roll-up named)
    summary = next((tmp_path / "outbox").rglob("*年报汇总.xlsx"))
    rows = openpyxl.load_workbook(summary, read_only=True)["报送情况"].iter_rows(values_only=True)
    assert any("西山县教育局" in r and any(isinstance(c, str) and said in c for c in r) for r in rows)
    report(tmp_path / "inbox" / "教育局.xlsx", "西山县教育局", seed=4)
    run(config)
    assert status_json(config)["西山县教育局"]["withdrawn"] is None  # (it reported since: nothing to explain)


def test_a_city_report_names_each_unit_with_the_place_it_is_in(tmp_path):
    """The city's roster says 教育局 and 县政府办公室 under 西山县/县直部门, 城关镇 under 西山县/乡镇 (as the county
    calls them), 教育局 under 市直部门 too. Its 上报用 report names each with its own place in front: 西山县's
    for the county's units, the title (云溪市) for the city's own; none named twice, none as another's."""
    units = [
        ("教育局", "市直部门", ""),
        ("县教育局", "西山县/县直部门", ""),
        ("县政府办公室", "西山县/县直部门", ""),
        ("城关镇", "西山县/乡镇", ""),
    ]
    config = city(tmp_path, units=units, title="云溪市")
    for k, (name, _, _) in enumerate(units):
        report(tmp_path / "inbox" / f"{k}.xlsx", name, seed=90 + k)
    [path] = [Path(p) for p in run(config)["reports"]]
    assert check_workbook(path).submission.covers == [
        "云溪市教育局",
        "西山县教育局",
        "西山县政府办公室",
        "西山县城关镇",
    ]


def test_a_countys_own_report_dropped_into_its_own_inbox__is_refused_saying_it_looks_like_its_own(tmp_path):
    """The county's 上报用 report is for the city; put in the county's own inbox it is a roll-up of no group
    of that roster (refused, as before), and the refusal says why it probably is here: its units are this
    roster's own, so it is likely this level's own report, to be sent up instead."""
    config = city(tmp_path, units=[("教育局", "县直部门", ""), ("公安局", "县直部门", "")], title="西山县")
    report(tmp_path / "inbox" / "教育局.xlsx", "教育局", seed=1)
    report(tmp_path / "inbox" / "公安局.xlsx", "公安局", seed=2)
    [own] = [Path(p) for p in run(config)["reports"]]
    set_cells(own, {"text.s1": "全县汇总：本年度共收到申请若干件，均已办结。", "text.s5": "个别单位更新不及时。"})
    shutil.copy(own, tmp_path / "inbox" / own.name)
    out = run(config)
    [entry] = out["files"]
    assert entry["status"] == "rejected"
    [said] = [f for f in entry["findings"] if f["rule"] == "rollup-group-unknown"]
    assert (
        "大多是本级名册中的单位：如这是本级自己生成的上报用汇总报告，请把它交给上级汇总单位，不要放进本级的收件文件夹"
        in said["message"]
    )


def test_a_rollup_summing_warned_about__is_shown_with_its_warning_alike_in_status_and_the_summary(tmp_path):
    """西山县's roll-up and 西山县教育局's own report both arrived (rollup-overlap): status lists the roll-up as
    有警告 with that warning to chase, and 报送情况 shows it 有警告 too (it said 已通过 beside 警告 1)."""
    import openpyxl

    rollup, _ = _county_rollup(tmp_path)
    config = city(tmp_path, units=COUNTY_UNITS, title="云溪市")
    shutil.copy(rollup, tmp_path / "inbox" / "西山县汇总.xlsx")
    report(tmp_path / "inbox" / "西山县教育局.xlsx", "西山县教育局", seed=20)
    out = run(config)
    shown = status_json(config)["西山县"]
    assert shown["status"] == "warning" and "rollup-overlap" in [f["rule"] for f in shown["findings"]]
    table = runner.invoke(app, ["status", "--config", str(config)]).stdout
    assert "另收到县区汇总表 1 份：西山县（有警告）" in table
    rows = openpyxl.load_workbook(out["summary"], read_only=True)["报送情况"].iter_rows(values_only=True)
    [row] = [r for r in rows if r[1] == "西山县"]
    assert "有警告" in row and any(isinstance(c, str) and "汇总时发现问题（见问题清单）" in c for c in row)
    # 概览's 其中有警告或已说明 counts it as 计入汇总 does: as the units it sums
    overview = list(openpyxl.load_workbook(out["summary"], read_only=True)["概览"].iter_rows(values_only=True))
    at = next(k for k, r in enumerate(overview) if r[0] == "应报单位")
    counted, flagged = overview[at + 1][2], overview[at + 1][3]
    units = check_workbook(rollup).submission.units
    assert flagged >= units and counted >= flagged
