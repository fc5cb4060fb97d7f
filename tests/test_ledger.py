"""The ledger: exact values, receipt bookkeeping, superseding, read-only access, newer formats refused."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from processor import ledger as ledger_module
from processor.findings import Finding
from processor.ledger import KeptRows, Ledger, LedgerError, light_submission, submission_from_json, submission_to_json
from processor.submission import Note, Submission


def sub(**kw) -> Submission:
    base = {
        "edition": "2021",
        "year": 2025,
        "agency": "云溪市教育局",
        "values": {"s2_5.r1.c1": 7, "s2_8.r1.c1": Decimal("49.1400")},
        "blanks": {"s4.r1.c1"},
        "shown_totals": {"s3.r3_7.c7": None, "s3.r1.c7": Decimal("3")},
        "texts": {"info.filler": "张三"},
        "notes": [Note(1, "I1", "D7", "去年结转数统计口径调整。")],
    }
    return Submission(**{**base, **kw})


def complete(ledger: Ledger, file_id: int, unit: str, status: str, submission: Submission, **kw) -> None:
    """ledger.complete with a report's usual fields; `kw` adds or overrides any (year, findings, supersedes …)."""
    fields = dict(
        status=status,
        unit=unit,
        agency=unit,
        year=2025,
        edition="2021",
        kind="report",
        filler=None,
        phone=None,
        findings=[],
        archive_path=f"归档/{file_id}.xlsx",
        feedback_path=None,
        submission=submission,
    )
    ledger.complete(file_id, **{**fields, **kw})


def test_submission_json__round_trip_keeps_every_number_exact_and_typed():
    original = sub()
    back = submission_from_json(submission_to_json(original))
    assert back == original
    assert back.values["s2_8.r1.c1"] == Decimal("49.1400") and isinstance(back.values["s2_5.r1.c1"], int)


def test_submission_json__the_same_document_as_from_dataclasses_asdict():
    # the ledger keeps the JSON of schema 2: written field by field now, byte for byte what asdict gave
    import json
    from dataclasses import asdict

    from processor.ledger import _num, findings_to_json

    original = sub(meta={"edition": "2021"}, file="甲.xlsx", kind="rollup", units=3)
    data = asdict(original)
    data["values"] = {k: _num(v) for k, v in original.values.items()}
    data["shown_totals"] = {k: _num(v) for k, v in original.shown_totals.items()}
    data["blanks"] = sorted(original.blanks)
    data["text_numbers"] = sorted(original.text_numbers)
    assert submission_to_json(original) == json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    found = [Finding("E1", "error", "不平衡", sheet="三", cell="D7", agency="甲", explanation=None)]
    assert findings_to_json(found) == json.dumps([asdict(f) for f in found], ensure_ascii=False, separators=(",", ":"))


def test_submission_blob__reports_stored_by_earlier_versions_read_back_the_same():
    # before orjson and ISA-L: json.dumps, zlib level 6 (and findings with spaces after , and :)
    import json
    import zlib

    from processor.ledger import findings_from_json, findings_to_json, submission_from_blob

    original = sub(texts={"s1": "一、总体情况 2025年"}, file="甲.xlsx")
    old = zlib.compress(json.dumps(json.loads(submission_to_json(original)), ensure_ascii=False).encode(), 6)
    assert submission_from_blob(old) == original
    found = [Finding("E1", "error", "不平衡", sheet="三", cell="D7", expected=12, found="12件")]
    spaced = json.dumps(json.loads(findings_to_json(found)), ensure_ascii=False)
    assert ", " in spaced and findings_from_json(spaced) == found


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@given(JSON)
def test_ledger_json__reads_back_exactly_what_it_wrote_whole_numbers_of_any_size_included(value):
    # orjson reads a whole number beyond 64 bits as a float: such documents go to json.loads
    import json

    from processor.ledger import dumps, loads

    assert loads(dumps(value)) == value == json.loads(json.dumps(value))
    assert loads(json.dumps(value, ensure_ascii=False)) == value
    assert dumps(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode() or any(
        isinstance(v, float) for v in _leaves(value)
    )


def _leaves(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


def test_receive__a_file_taken_up_again_counts_its_attempts_and_release_undoes_a_receipt(tmp_path: Path):
    with Ledger(tmp_path / "l.sqlite") as ledger:
        run = ledger.start_run("run", 2025)
        a = ledger.receive("aa", 1, 1, "a.xlsx", "a.xlsx", run)
        assert ledger.receive("aa", 1, 1, "a.xlsx", "a.xlsx", run) == a
        assert ledger.get(a).attempts == 2
        ledger.release(a)
        assert ledger.get(a).attempts == 1
        ledger.release(a)
        assert ledger.by_hash("aa") == []


def test_complete__values_recorded_and_the_older_submission_superseded_in_one_step(tmp_path: Path):
    with Ledger(tmp_path / "l.sqlite") as ledger:
        run = ledger.start_run("run", 2025)
        ids = []
        for sha, value in (("old", 1), ("new", 2)):
            file_id = ledger.receive(sha, 1, 1, f"{sha}.xlsx", f"{sha}.xlsx", run)
            older = ledger.counted("云溪市教育局", 2025)
            notice = Finding("superseded", "notice", "已被取代")
            complete(
                ledger,
                file_id,
                "云溪市教育局",
                "accepted",
                sub(values={"s2_5.r1.c1": value}),
                supersedes=[(older.id, [notice])] if older else None,
            )
            ids.append(file_id)
        assert ledger.counted("云溪市教育局", 2025).id == ids[1]
        assert ledger.get(ids[0]).superseded_by == ids[1]
        assert [f.rule_id for f in ledger.get(ids[0]).findings] == ["superseded"]
        assert ledger.submission(ids[1]).value("s2_5.r1.c1") == 2
        rows = ledger.db.execute("SELECT code, value FROM cell_values WHERE file_id=?", (ids[1],)).fetchall()
        assert rows == [("s2_5.r1.c1", "2")]


def test_counted_units_and_submissions__watch_reads_only_the_submissions_it_does_not_hold(tmp_path: Path):
    with Ledger(tmp_path / "l.sqlite") as ledger:
        run = ledger.start_run("watch", 2025)
        ids = []
        for k, (unit, status) in enumerate((("甲", "accepted"), ("乙", "rejected"), ("丙", "warning"))):
            file_id = ledger.receive(f"sha{k}", 1, 1, f"{k}.xlsx", f"{k}.xlsx", run)
            complete(ledger, file_id, unit, status, sub(agency=unit))
            ids.append(file_id)
        assert ledger.counted_units(2025) == {"甲", "丙"} and ledger.counted_units(2024) == set()
        cache: dict = {}
        first = ledger.submissions(ids[:2], light=True, cache=cache)
        assert cache == first and first[ids[0]].agency == "甲"
        second = ledger.submissions(ids[1:], light=True, cache=cache)
        assert second[ids[1]] is first[ids[1]]  # held, not read again
        assert set(cache) == set(ids[1:])  # only what the last call returned


def test_readonly__cannot_write_and_a_ledger_of_a_newer_nianbao_is_refused(tmp_path: Path):
    path = tmp_path / "l.sqlite"
    Ledger(path).close()
    with Ledger(path, readonly=True) as ro, pytest.raises(Exception, match="readonly"):
        ro.start_run("run", 2025)
    with Ledger(path) as ledger:
        ledger.db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    with pytest.raises(LedgerError, match="更新版本"):
        Ledger(path)


def test_readonly__opens_in_a_folder_named_with_uri_characters(tmp_path: Path):
    """`status` and the workers open the ledger read-only by URI: a folder with #, ?, %, spaces or
    Chinese in its name, or a path starting with two slashes, must not be read as URI syntax."""
    folder = tmp_path / "年报 #1?a%20b"
    folder.mkdir()
    Ledger(folder / "ledger.sqlite").close()
    with Ledger(folder / "ledger.sqlite", readonly=True) as ro:
        assert ro.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    if os.name == "posix":  # (//x is /x on Linux: a URI file://x/… would name a host x)
        with Ledger(Path("/" + str(folder / "ledger.sqlite")), readonly=True) as ro:
            assert ro.db.execute("SELECT count(*) FROM meta").fetchone()


@pytest.mark.parametrize("path", [r"\\fileserver\年报\outbox\ledger.sqlite", r"Z:\年报\ledger.sqlite", "//srv/x"])
def test_readonly_uri__never_has_an_authority_and_decodes_to_the_path(path: str):
    """A Windows share (\\\\server\\share) as Path.as_uri() writes it is file://server/…, which SQLite refuses
    ("invalid uri authority"): the URI is "file:" and the path percent-escaped, decoded back as it was."""
    from urllib.parse import unquote

    uri = ledger_module.readonly_uri(path)
    assert uri.startswith("file:") and not uri.startswith("file:/") and uri.endswith("?mode=ro")
    assert unquote(uri.removeprefix("file:").removesuffix("?mode=ro")) == os.path.abspath(path)


@pytest.mark.parametrize("kind", ["folder", "fifo"])
def test_a_ledger_path_that_is_not_a_file__is_refused_with_what_to_do(tmp_path: Path, kind: str) -> None:
    """Not waited on for ever (a FIFO) nor reported as a damaged ledger (a folder)."""
    path = tmp_path / "ledger.sqlite"
    if kind == "fifo":
        if not hasattr(os, "mkfifo"):
            pytest.skip("no named pipes here")
        os.mkfifo(path)
    else:
        path.mkdir()
    for readonly in (False, True):
        with pytest.raises(LedgerError, match=r"不是一个文件.*移出输出文件夹"):
            Ledger(path, readonly=readonly)


def test_a_ledger_that_cannot_even_be_looked_at__is_refused_with_what_to_do(tmp_path: Path, monkeypatch) -> None:
    """(A folder on the way that this account cannot enter: what os.stat says is turned into the same
    message as when SQLite cannot open the file, not a bare PermissionError.)"""
    path = tmp_path / "ledger.sqlite"
    real = os.stat

    def refused(target, *args, **kwargs):
        if Path(target) == path:
            raise PermissionError(13, "Permission denied", str(path))
        return real(target, *args, **kwargs)

    monkeypatch.setattr(ledger_module.os, "stat", refused)
    for readonly in (False, True):
        with pytest.raises(LedgerError, match=r"无法打开台账.*请确认输出文件夹可写"):
            Ledger(path, readonly=readonly)


@pytest.mark.parametrize(
    "values",
    [
        {"s2_5.r1.c1": 7, "s2_8.r1.c1": Decimal("49.1400"), "s3.r1.c1": 0, "s3.r1.c2": Decimal("0")},
        {"a": Decimal("0.00"), "b": Decimal("-0"), "c": Decimal("1E+2"), "d": 0.0, "e": 2.5, "f": -3},
        {},
    ],
)
def test_light_submission__is_what_the_summary_reads_back_from_the_ledger(values) -> None:
    """The batch keeps the light submission of a file it committed instead of reading it back: the same
    fields, values of the same type and digits (Decimal 0.00 kept, 0 dropped), texts, kind and units."""
    full = sub(values=values, kind="rollup", units=3, meta={"product": "nianbao"}, file="甲.xlsx")
    kept = light_submission(full)
    read = submission_from_json(submission_to_json(full), light=True)
    assert kept == read
    assert submission_to_json(kept) == submission_to_json(read)
    assert [type(v) for v in kept.values.values()] == [type(v) for v in read.values.values()]
    assert kept.texts is not full.texts and kept.values is not full.values


def test_files_kept__unchanged_rows_are_the_rows_of_the_last_call_changed_ones_read_again(tmp_path: Path):
    """watch lists the year's rows at every refresh: it reads whole only the rows that changed."""
    with Ledger(tmp_path / "l.sqlite") as ledger:
        run = ledger.start_run("watch", 2025)
        ids = [ledger.receive(f"sha{k}", 1, 1, f"{k}.xlsx", f"{k}.xlsx", run) for k in range(3)]
        for k, unit in enumerate(("甲", "乙")):
            complete(ledger, ids[k], unit, "accepted", sub(agency=unit))
        kept = KeptRows()
        first = ledger.files_kept(2025, kept)
        assert first == ledger.files(2025) and len(first) == 2  # (the third is not finished: no year yet)
        complete(
            ledger, ids[2], "甲", "warning", sub(), supersedes=[(ids[0], [Finding("superseded", "notice", "已被取代")])]
        )
        second = ledger.files_kept(2025, kept)
        assert second == ledger.files(2025) and len(second) == 3
        assert second[1] is first[1]  # 乙: unchanged, not read again
        assert second[0] is not first[0] and second[0].superseded_by == ids[2]  # 甲's first file: superseded
        assert [f.rule_id for f in second[0].findings] == ["superseded"]
        assert set(kept.rows) == {r.id for r in second}


def test_unit_results_kept__the_same_units_as_listed_afresh_after_any_change(tmp_path: Path):
    """watch lists the units from what it kept of the last listing (KeptUnits): after files arrive,
    supersede others, are rejected, and the roster gains an alias, the units are those listed afresh."""
    import random

    from processor.batch import KeptUnits, unit_results
    from processor.roster import Roster, Unit

    rng = random.Random(7)
    names = ["甲局", "乙局", "丙局", "丁局"]
    roster = Roster([Unit(n, group=("市直",)) for n in names[:3]])
    kept, kept_last = KeptUnits(), KeptUnits()
    with Ledger(tmp_path / "l.sqlite") as ledger:
        run = ledger.start_run("watch", 2025)
        for step in range(40):
            unit, year = rng.choice([*names, "丁局（别名）"]), rng.choice([2025, 2025, 2024])
            file_id = ledger.receive(f"sha{step}", 1, 1, f"{step}.xlsx", f"{step}.xlsx", run)
            older = ledger.counted(unit, year)
            status = rng.choice(["accepted", "warning", "rejected"])
            warn = [Finding("W1", "warning", f"第 {step} 个警告", agency=unit)] if status == "warning" else []
            complete(
                ledger,
                file_id,
                unit,
                status,
                sub(agency=unit, year=year, values={"s2_5.r1.c1": step}),
                year=year,
                findings=warn,
                supersedes=[(older.id, [Finding("superseded", "notice", "已被取代")])]
                if older and status != "rejected"
                else None,
            )
            if step == 25:  # the roster now knows 丁局 and its other name
                roster = Roster([*roster.units, Unit("丁局", group=("市直",), aliases=("丁局（别名）",))])
            for year_, keep in ((2025, kept), (2024, kept_last)):
                fresh = unit_results(ledger, roster, year_, light=True)
                again = unit_results(ledger, roster, year_, light=True, kept=keep)
                assert again == fresh, (step, year_)


def test_ledger_documents__read_and_written_alike_without_orjson_and_isal(tmp_path: Path):
    # an installation where a wheel is missing falls back to json and zlib: same documents either way
    import os
    import subprocess
    import sys

    from processor.ledger import findings_to_json, submission_to_blob

    original = sub(texts={"s1": "一、总体情况\n共 12 件"}, file="甲.xlsx")
    (tmp_path / "blob").write_bytes(submission_to_blob(original))
    found = [Finding("E1", "error", "不平衡", sheet="三", cell="D7", expected=12, found="12件")]
    (tmp_path / "findings").write_text(findings_to_json(found), encoding="utf-8")
    script = f"""
import sys
sys.modules["orjson"] = None
sys.modules["isal"] = None
from pathlib import Path
from processor import ledger, package
assert ledger.orjson is None and package.crc32_combine is None
folder = Path({str(tmp_path)!r})
sub = ledger.submission_from_blob((folder / "blob").read_bytes())
findings = ledger.findings_from_json((folder / "findings").read_text(encoding="utf-8"))
assert ledger.submission_from_blob(ledger.submission_to_blob(sub)) == sub
assert ledger.findings_to_json(findings) == (folder / "findings").read_text(encoding="utf-8")
print(repr(sub.texts), findings[0].found)
"""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, encoding="utf-8", cwd=Path(__file__).parents[1], env=env
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"{original.texts!r} 12件"


def test_files_kept__after_any_change_by_this_job_or_another_process__the_rows_listed_afresh(tmp_path: Path):
    """files_kept reads only the rows this connection changed since its last call (a log kept by
    TEMP triggers): after files received, finished, superseded, released, moved, a transaction rolled
    back, and rows written by another connection (another process), it lists what files() lists."""
    import random
    import sqlite3

    rng = random.Random(11)
    kept, kept_last = KeptRows(), KeptRows()
    with Ledger(tmp_path / "l.sqlite") as ledger:
        run = ledger.start_run("watch", 2025)
        received: list[int] = []
        for step in range(120):
            roll = rng.random()
            if roll < 0.3 or not received:
                received.append(ledger.receive(f"sha{step}", 1, 1, f"{step}.xlsx", f"{step}.xlsx", run))
            elif roll < 0.6:
                file_id = received.pop(rng.randrange(len(received)))
                year, unit = rng.choice([2025, 2025, 2024]), rng.choice("甲乙丙")
                older = ledger.counted(unit, year)
                complete(
                    ledger,
                    file_id,
                    unit,
                    rng.choice(["accepted", "rejected"]),
                    sub(agency=unit, year=year),
                    year=year,
                    supersedes=[(older.id, [Finding("superseded", "notice", "已被取代")])] if older else None,
                )
            elif roll < 0.7:
                ledger.release(received.pop(rng.randrange(len(received))))
            elif roll < 0.8:
                done = [r.id for r in ledger.files()]
                if done:
                    ledger.move_archive(rng.choice(done), f"归档/{step}.xlsx")
            elif roll < 0.9:  # a transaction rolled back: nothing changed
                try:
                    with ledger._transaction():
                        ledger.db.execute("UPDATE files SET archive_path='x' WHERE id IN (SELECT max(id) FROM files)")
                        raise RuntimeError
                except RuntimeError:
                    pass
            else:  # another process writes the ledger
                other = sqlite3.connect(tmp_path / "l.sqlite", isolation_level=None)
                other.execute(
                    "UPDATE files SET original_name=original_name || '+' WHERE id IN (SELECT min(id) FROM files)"
                )
                other.close()
            for year, keep in ((2025, kept), (2024, kept_last)):
                assert ledger.files_kept(year, keep) == ledger.files(year), (step, year)


def test_files_kept__a_kept_listing_asked_of_another_connection_or_for_another_year__listed_afresh(tmp_path: Path):
    """The change log is the connection's own and the listing a year's: a KeptRows taken on to a
    reopened ledger, or asked for another year, lists what files() lists (a helper's review)."""
    path = tmp_path / "l.sqlite"
    kept = KeptRows()
    with Ledger(path) as ledger:
        run = ledger.start_run("watch", 2025)
        ids = [ledger.receive(f"sha{k}", 1, 1, f"{k}.xlsx", f"{k}.xlsx", run) for k in range(3)]
        complete(ledger, ids[0], "甲", "accepted", sub(agency="甲"))
        assert ledger.files_kept(2025, kept) == ledger.files(2025)
        complete(ledger, ids[1], "乙", "accepted", sub(agency="乙"))  # after the last listing
    with Ledger(path) as ledger:  # a new connection: its own log, its own data_version
        assert ledger.files_kept(2025, kept) == ledger.files(2025) and len(kept.rows) == 2
        assert ledger.files_kept(2024, kept) == ledger.files(2024) == []
        assert ledger.files_kept(2025, kept) == ledger.files(2025)


def test_findings_packed__come_back_as_they_were_and_anything_else_as_none():
    from hypothesis import given
    from hypothesis import strategies as st

    from processor.findings import Finding, findings_packed, findings_unpacked

    text = st.one_of(st.none(), st.text(max_size=20))
    finding = st.builds(
        Finding,
        st.text(min_size=1, max_size=10),
        st.sampled_from(["error", "warning", "notice"]),
        st.text(max_size=40),
        text,
        text,
        text,
        text,
        text,
        text,
        text,
        text,
    )

    @given(st.lists(finding, max_size=20))
    def round_trip(findings):
        assert findings_unpacked(findings_packed(findings)) == findings

    round_trip()
    assert findings_unpacked(None) == [] and findings_unpacked("not base64!") == [] and findings_unpacked("") == []
    one = Finding("text-similar", "warning", "雷同", "文字部分", "A5", agency="云溪市教育局")
    names = ["rule_id", "severity", "message", "sheet", "cell", "code", "expected", "found", "agency", "file"]
    older = {"fields": names, "rows": [[getattr(one, n) for n in names]]}  # (a record of an earlier version)
    assert findings_unpacked(older) == [one]
