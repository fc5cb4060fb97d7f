"""The ledger (outbox/ledger.sqlite): every file ever received, what it was found to be, and its values."""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import os
import platform
import sqlite3
import stat
import sys
import time
import urllib.parse
from dataclasses import dataclass, field, fields
from decimal import Decimal
from pathlib import Path
from typing import Any

from . import package
from .findings import Finding
from .submission import Note, Submission

SCHEMA_VERSION = 2  # 2: submissions zlib-compressed, cell_values non-zero only (1 is refused)
RECEIVED, DONE = "received", "done"  # processing state of a file row
DUPLICATE = "duplicate"  # file status besides the unit statuses accepted | warning | explained | rejected
WITHDRAWN = "withdrawn"  # … and a report the coordinator withdrew (`nianbao withdraw`): it no longer counts
COUNTED_STATUSES = ("accepted", "warning", "explained")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    mode TEXT NOT NULL,              -- run | watch
    year INTEGER,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    host TEXT,
    user TEXT,
    counts TEXT                      -- JSON: received, accepted, warning, rejected, duplicate …
);
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY,          -- receipt order: a later id is a later submission
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    original_name TEXT NOT NULL,
    inbox_path TEXT NOT NULL,        -- relative to the inbox, forward slashes
    run_id INTEGER REFERENCES runs(id),
    state TEXT NOT NULL,             -- received (being processed) | done
    attempts INTEGER NOT NULL DEFAULT 1,
    status TEXT,                     -- accepted | warning | explained | rejected | duplicate
    unit TEXT,                       -- roster name (or the name as written when not on the roster)
    agency TEXT,                     -- 单位名称 as written in the workbook
    year INTEGER,
    edition TEXT,
    kind TEXT,                       -- report | rollup
    filler TEXT,
    phone TEXT,
    findings TEXT,                   -- JSON list of Finding records
    duplicate_of INTEGER REFERENCES files(id),
    superseded_by INTEGER REFERENCES files(id),
    archive_path TEXT,               -- relative to the outbox
    feedback_path TEXT,              -- relative to the outbox
    received_at TEXT NOT NULL,
    processed_at TEXT
);
CREATE INDEX IF NOT EXISTS files_sha256 ON files(sha256);
CREATE INDEX IF NOT EXISTS files_unit_year ON files(unit, year);
CREATE INDEX IF NOT EXISTS files_year ON files(year);
CREATE INDEX IF NOT EXISTS files_feedback ON files(feedback_path) WHERE feedback_path IS NOT NULL;
CREATE TABLE IF NOT EXISTS submissions (
    file_id INTEGER PRIMARY KEY REFERENCES files(id),
    data BLOB NOT NULL               -- the whole Submission as compact JSON (numbers exact), zlib-compressed
);
CREATE TABLE IF NOT EXISTS cell_values (
    file_id INTEGER NOT NULL REFERENCES files(id),
    code TEXT NOT NULL,              -- spec cell code, e.g. s3.r1.c1
    value TEXT NOT NULL,             -- exact decimal text; only non-zero values (a code not listed is 0)
    PRIMARY KEY (file_id, code)
) WITHOUT ROWID;
"""


# a file to receive: (sha256, size, mtime_ns, name as received, inbox path, when it arrived or None)
Receipt = tuple[str, int, int, str, str, int | None]


class LedgerError(RuntimeError):
    """The ledger cannot be opened or is from a newer nianbao; the message (Chinese) says what to do."""


def _cannot_open(path: Path, exc: Exception) -> str:
    return f"无法打开台账“{path}”：{exc}。请确认输出文件夹可写、台账文件未损坏。"


def now() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


def received_stamp(arrived_ns: int | None) -> str:
    """A file's received_at: when it arrived in the inbox (`inbox.arrival_ns`), or now if that is later
    or unknown (a clock that is wrong cannot make a file arrive in the future)."""
    if arrived_ns is None:
        return now()
    at = min(arrived_ns / 1e9, time.time())
    return dt.datetime.fromtimestamp(at).astimezone().isoformat(timespec="seconds")


@dataclass(frozen=True)
class FileRow:
    """One row of `files`."""

    id: int
    sha256: str
    size: int
    mtime_ns: int
    original_name: str
    inbox_path: str
    run_id: int | None
    state: str
    attempts: int
    status: str | None
    unit: str | None
    agency: str | None
    year: int | None
    edition: str | None
    kind: str | None
    filler: str | None
    phone: str | None
    findings_json: str | None
    duplicate_of: int | None
    superseded_by: int | None
    archive_path: str | None
    feedback_path: str | None
    received_at: str
    processed_at: str | None

    @property
    def findings(self) -> list[Finding]:
        return findings_from_json(self.findings_json)

    @property
    def counted(self) -> bool:
        """Its figures count (accepted, not superseded, not a duplicate)."""
        return self.state == DONE and self.status in COUNTED_STATUSES and self.superseded_by is None

    @property
    def received(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.received_at)


_COLUMNS = [f.name if f.name != "findings_json" else "findings" for f in fields(FileRow)]
_SELECT = "SELECT " + ", ".join(_COLUMNS) + " FROM files"
# Rows of `files` this connection changed, in order (TEMP: this connection's own, gone with it, rolled
# back with the change); files_kept reads only those, PRAGMA data_version tells it another connection wrote.
_TOUCHED = """
CREATE TEMP TABLE IF NOT EXISTS touched (seq INTEGER PRIMARY KEY, file_id INTEGER NOT NULL);
CREATE TEMP TRIGGER IF NOT EXISTS touched_insert AFTER INSERT ON main.files
    BEGIN INSERT INTO touched(file_id) VALUES (new.id); END;
CREATE TEMP TRIGGER IF NOT EXISTS touched_update AFTER UPDATE ON main.files
    BEGIN INSERT INTO touched(file_id) VALUES (old.id); INSERT INTO touched(file_id) VALUES (new.id); END;
CREATE TEMP TRIGGER IF NOT EXISTS touched_delete AFTER DELETE ON main.files
    BEGIN INSERT INTO touched(file_id) VALUES (old.id); END;
"""


@dataclass
class KeptRows:
    """A year's rows as files_kept last listed them (`watch`), and how far it had read the change log."""

    rows: dict[int, FileRow] = field(default_factory=dict)  # id → row, in id order
    seq: int | None = None  # the last change of this connection's log taken in (None: list afresh)
    version: int | None = None  # PRAGMA data_version then (another connection's commit changes it)
    year: int | None = None  # the year listed (another year: listed afresh)
    log: object | None = None  # the connection whose log `seq` counts in (another one: listed afresh)


_DIGITS = bytes.maketrans(b"123456789", b"000000000")
_LONG_NUMBER = b"0" * 19  # (digits as 0) a whole number this long may not fit 64 bits


try:  # orjson: ~3× faster than json for the ledger's documents; json where its wheel is missing
    import orjson
except ImportError:  # pragma: no cover - a dependency
    orjson = None


def dumps(value: Any) -> bytes:
    """Compact JSON, UTF-8 (ensure_ascii=False, separators (",", ":")): orjson (~3× faster than
    json.dumps; the same bytes for what the ledger holds), json.dumps for what orjson refuses (a whole
    number beyond 64 bits)."""
    try:
        if orjson is not None:
            return orjson.dumps(value)
    except TypeError:
        pass
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def loads(data: bytes | str) -> Any:
    """json.loads by orjson (~2× faster with this test: 10,000 reports read back ~0.5 s sooner), by
    json.loads when the document holds a run of 19 digits or more: orjson reads a whole number beyond
    64 bits as a float (the reader's bounds keep numbers far below; a text may hold such a run)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if orjson is None or _LONG_NUMBER in raw.translate(_DIGITS):
        return json.loads(raw)
    return orjson.loads(raw)


def findings_to_json(findings: list[Finding]) -> str:
    return dumps([f.as_dict() for f in findings]).decode("utf-8")


_FINDING_FIELDS = frozenset(f.name for f in fields(Finding))


def findings_from_json(text: str | None) -> list[Finding]:
    out = []
    for d in loads(text or "[]"):
        try:
            out.append(Finding(**d))
        except TypeError:  # a field this version does not know (written by a newer one): left out
            out.append(Finding(**{k: v for k, v in d.items() if k in _FINDING_FIELDS}))
    return out


def _num(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def _unnum(value: Any) -> Any:
    return Decimal(value) if isinstance(value, str) else value


_intern = sys.intern


_SUBMISSION_FIELDS = tuple(f.name for f in fields(Submission))  # (in field order: the JSON's order)
_NOTE_FIELDS = tuple(f.name for f in fields(Note))


def submission_to_json(sub: Submission) -> bytes:
    # A shallow dict in field order: dataclasses.asdict deep-copies every value (~2 ms a submission).
    data = {name: getattr(sub, name) for name in _SUBMISSION_FIELDS}
    data["notes"] = [{name: getattr(n, name) for name in _NOTE_FIELDS} for n in sub.notes]
    data["values"] = {k: _num(v) for k, v in sub.values.items()}
    data["shown_totals"] = {k: _num(v) for k, v in sub.shown_totals.items()}
    data["blanks"] = sorted(sub.blanks)
    data["text_numbers"] = sorted(sub.text_numbers)
    return dumps(data)


def submission_to_blob(sub: Submission) -> bytes:
    """What `submissions.data` holds: the compact JSON, zlib-compressed (~3 KB instead of ~9 KB; see package.compress)."""
    return package.compress(submission_to_json(sub))


def submission_from_blob(data: bytes | str, *, light: bool = False) -> Submission:
    return submission_from_json(package.decompress(data) if isinstance(data, bytes) else data, light=light)


_LIGHT_DROP = ("shown_totals", "blanks", "text_numbers", "notes", "meta", "moved")


_ZERO = (0, "0")  # a value a light submission leaves out, as the ledger writes it (Decimal 0.00 is kept)


def _nonzero(value: Any) -> bool:
    """A value a light submission keeps: anything but 0 as the ledger writes it (Decimal 0.00 is kept)."""
    return _num(value) not in _ZERO


def submission_from_json(text: bytes | str, *, light: bool = False) -> Submission:
    """A Submission from its JSON. light=True keeps what consolidation and the summary use (the
    non-zero values, texts, kind, units; no shown totals, blanks, notes or metadata): a fraction of
    the memory when thousands are loaded at once. Values absent from a light submission are 0."""
    data = loads(text)
    data = {k: v for k, v in data.items() if k in _SUBMISSION_FIELDS and not (light and k in _LIGHT_DROP)}
    if light:  # (values read back are as the ledger wrote them: _ZERO applies as it is, ~0.2 s at 10,000)
        data["values"] = {_intern(k): _unnum(v) for k, v in data.get("values", {}).items() if v not in _ZERO}
        return Submission(**data)
    # Cell codes interned: thousands of loaded submissions then share one string per code
    # (json.loads makes new key strings for every document: ~60 bytes × 300 codes × 10,000 units).
    data["values"] = {_intern(k): _unnum(v) for k, v in data.get("values", {}).items()}
    data["shown_totals"] = {_intern(k): _unnum(v) for k, v in data.get("shown_totals", {}).items()}
    data["blanks"] = {_intern(k) for k in data.get("blanks", [])}
    data["text_numbers"] = {_intern(k) for k in data.get("text_numbers", [])}
    data["notes"] = [Note(**n) for n in data.get("notes", [])]
    return Submission(**data)


def light_submission(sub: Submission) -> Submission:
    """submission_from_json(submission_to_json(sub), light=True), without the round trip: what the
    batch keeps of a file it just checked, so that its summary need not read it back (~0.2 ms a file)."""
    data = {name: getattr(sub, name) for name in _SUBMISSION_FIELDS if name not in _LIGHT_DROP}
    data["values"] = {_intern(k): v for k, v in sub.values.items() if _nonzero(v)}
    data["texts"] = dict(sub.texts)
    return Submission(**data)


def readonly_uri(path: Path | str) -> str:
    """The SQLite URI that opens `path` read-only. Not Path.as_uri(): a Windows share (\\\\server\\share\\…,
    or a mapped drive, which resolve() turns into one) would become file://server/…, whose authority
    SQLite refuses ("invalid uri authority"); here the whole path is percent-escaped after "file:"
    (no authority), which SQLite decodes back to the path as it was, on every platform."""
    return "file:" + urllib.parse.quote(os.path.abspath(path), safe="") + "?mode=ro"


class Ledger:
    """The SQLite ledger. Written only by the job holding the outbox lock (the main process)."""

    def __init__(self, path: Path, *, readonly: bool = False, timeout: float = 30) -> None:
        self.path = Path(path)
        self._logged = not readonly  # this connection keeps a log of the rows it changes (_TOUCHED)
        try:
            mode = os.stat(self.path).st_mode
        except FileNotFoundError:
            mode = None
        except OSError as exc:  # (e.g. a folder that cannot be entered)
            raise LedgerError(_cannot_open(self.path, exc)) from exc
        if mode is not None and not stat.S_ISREG(mode):  # (SQLite would wait on a FIFO for ever)
            raise LedgerError(f"台账“{self.path}”不是一个文件（是文件夹或管道等）。请把它移出输出文件夹后再运行。")
        try:
            if readonly:
                self.db = sqlite3.connect(readonly_uri(self.path), uri=True, timeout=timeout, isolation_level=None)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
                self.db.execute("PRAGMA synchronous=FULL")
                self._version()
                self.db.executescript(SCHEMA)
                self.db.executescript(_TOUCHED)
        except sqlite3.Error as exc:
            raise LedgerError(_cannot_open(self.path, exc)) from exc

    def _version(self) -> None:
        self.db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if row is None:
            self.db.execute("INSERT INTO meta(key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif int(row[0]) > SCHEMA_VERSION:
            raise LedgerError(f"台账“{self.path}”由更新版本的 nianbao 创建（格式 {row[0]}）。请升级 nianbao 后再运行。")
        elif int(row[0]) < SCHEMA_VERSION:
            raise LedgerError(
                f"台账“{self.path}”由旧版本的 nianbao 创建（格式 {row[0]}，当前格式 {SCHEMA_VERSION}），"
                "本版本不再读取。请换一个新的输出文件夹（--outbox）重新运行：收件文件夹的文件会重新处理；"
                "旧输出文件夹中的归档和反馈保持不变，可以保留备查。"
            )

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- runs ------------------------------------------------------------------------------

    def start_run(self, mode: str, year: int) -> int:
        cur = self.db.execute(
            "INSERT INTO runs(mode, year, started_at, host, user) VALUES (?, ?, ?, ?, ?)",
            (mode, year, now(), platform.node(), _user()),
        )
        return int(cur.lastrowid or 0)

    def unfinished_run(self) -> tuple[str, str | None, str | None, str] | None:
        """(mode, host, user, started_at) of the last run started and not finished: the job holding the
        outbox, most likely (it writes its row right after it takes the lock), or one that crashed."""
        return self.db.execute(
            "SELECT mode, host, user, started_at FROM runs WHERE finished_at IS NULL ORDER BY id DESC LIMIT 1"
        ).fetchone()

    def finish_run(self, run_id: int, counts: dict[str, Any]) -> None:
        self.db.execute(
            "UPDATE runs SET finished_at=?, counts=? WHERE id=?",
            (now(), json.dumps(counts, ensure_ascii=False), run_id),
        )

    # ---- files -----------------------------------------------------------------------------

    def _rows(self, where: str = "", params: tuple[Any, ...] = ()) -> list[FileRow]:
        return [FileRow(*r) for r in self.db.execute(f"{_SELECT} {where}", params).fetchall()]

    def get(self, file_id: int) -> FileRow:
        return self._rows("WHERE id=?", (file_id,))[0]

    def by_hash(self, sha256: str) -> list[FileRow]:
        return self._rows("WHERE sha256=? ORDER BY id", (sha256,))

    def files(self, year: int | None = None) -> list[FileRow]:
        if year is None:
            return self._rows("ORDER BY id")
        return self._rows("WHERE year=? ORDER BY id", (year,))

    def files_kept(self, year: int, kept: KeptRows) -> list[FileRow]:
        """files(year), where each row unchanged since the last call is the FileRow of that call:
        `kept` is left holding this call's rows. Only the rows this connection changed since are read
        (its change log, kept by TEMP triggers); all of them when another connection wrote meanwhile,
        in a transaction (what it changed may yet be rolled back), on a read-only ledger or at the
        first call. At 10,000 rows a `watch` refresh reads a few rows instead of all (~70 ms)."""
        version = self.db.execute("PRAGMA data_version").fetchone()[0]
        if (
            self.db.in_transaction
            or not self._logged
            or kept.seq is None
            or kept.version != version
            or kept.year != year
            or kept.log is not self.db
        ):
            seq = None if self.db.in_transaction or not self._logged else self._last_change()
            kept.rows = {row.id: row for row in self.files(year)}
            kept.seq, kept.version, kept.year, kept.log = seq, version, year, self.db
            return list(kept.rows.values())
        seq = self._last_change()
        if seq != kept.seq:
            ids = [r[0] for r in self.db.execute("SELECT DISTINCT file_id FROM touched WHERE seq>?", (kept.seq,))]
            for start in range(0, len(ids), 500):
                part = ids[start : start + 500]
                now = {row.id: row for row in self._rows(f"WHERE id IN ({','.join('?' * len(part))})", tuple(part))}
                for file_id in part:
                    row = now.get(file_id)
                    if row is not None and row.year == year:
                        kept.rows[file_id] = row
                    else:  # gone, or of another year (none yet: not finished)
                        kept.rows.pop(file_id, None)
            if list(kept.rows) != sorted(kept.rows):
                kept.rows = dict(sorted(kept.rows.items()))
            kept.seq = seq
        return list(kept.rows.values())

    def _last_change(self) -> int:
        return int(self.db.execute("SELECT coalesce(max(seq), 0) FROM touched").fetchone()[0])

    def receive(
        self,
        sha256: str,
        size: int,
        mtime_ns: int,
        name: str,
        inbox_path: str,
        run_id: int,
        arrived_ns: int | None = None,
    ) -> int:
        """Record that a file is being processed (committed before it is read). Returns the row id.

        received_at is when it arrived (`received_stamp`). A file still 'received' from an interrupted run
        is taken up again (attempts + 1).
        """
        return self.receive_many([(sha256, size, mtime_ns, name, inbox_path, arrived_ns)], run_id)[0][0]

    def receive_many(self, items: list[Receipt], run_id: int) -> list[tuple[int, int]]:
        """`receive` for several files in one transaction; returns (row id, attempts) of each."""
        with self._transaction():
            return [self._receive(item, run_id) for item in items]

    def _receive(self, item: Receipt, run_id: int) -> tuple[int, int]:
        """receive(): the row id and how many times the file has now been taken up."""
        sha256, size, mtime_ns, name, inbox_path, arrived_ns = item
        pending = self._rows("WHERE sha256=? AND state=? ORDER BY id", (sha256, RECEIVED))
        if pending:
            row = pending[0]
            self.db.execute(
                "UPDATE files SET attempts=attempts+1, run_id=?, inbox_path=?, original_name=?, size=?, mtime_ns=? "
                "WHERE id=?",
                (run_id, inbox_path, name, size, mtime_ns, row.id),
            )
            return row.id, row.attempts + 1
        cur = self.db.execute(
            "INSERT INTO files(sha256, size, mtime_ns, original_name, inbox_path, run_id, state, received_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (sha256, size, mtime_ns, name, inbox_path, run_id, RECEIVED, received_stamp(arrived_ns)),
        )
        return int(cur.lastrowid or 0), 1

    def complete(self, file_id: int, **fields: Any) -> None:
        """Record a file's outcome, values and destination, and supersede older ones: one transaction.
        The fields are _complete's keywords (status, unit, findings, archive_path, submission, …)."""
        self.complete_many([dict(file_id=file_id, **fields)])

    def complete_many(self, records: list[dict[str, Any]]) -> None:
        """`complete` for a batch of files (keyword dicts of its arguments): one transaction for all.

        `submission` may be a Submission or its blob already made (submission_to_blob, e.g. in a worker);
        `findings` a list of Findings or their JSON (findings_to_json).
        """
        if not records:
            return
        with self._transaction():
            for r in records:
                self._complete(**r)

    def _complete(
        self,
        file_id: int,
        *,
        status: str,
        unit: str | None,
        agency: str | None,
        year: int | None,
        edition: str | None,
        kind: str | None,
        filler: str | None,
        phone: str | None,
        findings: list[Finding] | str,
        archive_path: str,
        feedback_path: str | None,
        submission: Submission | bytes | None,
        duplicate_of: int | None = None,
        supersedes: list[tuple[int, list[Finding]]] | None = None,
        values: dict[str, Any] | None = None,  # the submission's values when `submission` is a blob
    ) -> None:
        self.db.execute(
            "UPDATE files SET state=?, status=?, unit=?, agency=?, year=?, edition=?, kind=?, filler=?, phone=?, "
            "findings=?, duplicate_of=?, archive_path=?, feedback_path=?, processed_at=? WHERE id=?",
            (
                DONE,
                status,
                unit,
                agency,
                year,
                edition,
                kind,
                filler,
                phone,
                findings if isinstance(findings, str) else findings_to_json(findings),
                duplicate_of,
                archive_path,
                feedback_path,
                now(),
                file_id,
            ),
        )
        if submission is not None:
            if isinstance(submission, Submission):
                values = submission.values
                submission = submission_to_blob(submission)
            self.db.execute("INSERT OR REPLACE INTO submissions(file_id, data) VALUES (?, ?)", (file_id, submission))
            if status in COUNTED_STATUSES:
                self.db.execute("DELETE FROM cell_values WHERE file_id=?", (file_id,))
                self.db.executemany(
                    "INSERT INTO cell_values(file_id, code, value) VALUES (?, ?, ?)",
                    [(file_id, code, str(v)) for code, v in sorted((values or {}).items()) if v],
                )
        for older, older_findings in supersedes or []:
            self.db.execute(
                "UPDATE files SET superseded_by=?, findings=? WHERE id=?",
                (file_id, findings_to_json(older_findings), older),
            )

    def withdraw(self, file_id: int, notice: Finding) -> list[int]:
        """A counted report no longer counts (status withdrawn, `notice` added to its findings, processed
        now); the reports it had superseded are as they were before it came (their `superseded` notices
        dropped). One transaction; returns their ids."""
        with self._transaction():
            row = self.get(file_id)
            self.db.execute(  # (processed_at: the summary's 生成时间 is the year's last change)
                "UPDATE files SET status=?, findings=?, processed_at=? WHERE id=?",
                (WITHDRAWN, findings_to_json([*row.findings, notice]), now(), file_id),
            )
            older = self.superseded_rows(file_id)
            for r in older:
                kept = [f for f in r.findings if f.rule_id != "superseded"]
                self.db.execute(
                    "UPDATE files SET superseded_by=NULL, findings=? WHERE id=?", (findings_to_json(kept), r.id)
                )
        return [r.id for r in older]

    def superseded_rows(self, file_id: int) -> list[FileRow]:
        """The reports this one superseded, oldest first: the last of them counts again if it is withdrawn."""
        return self._rows("WHERE superseded_by=? ORDER BY id", (file_id,))

    def release(self, file_id: int) -> None:
        """Undo `receive` for a file left unprocessed on purpose (the job was stopped before checking it)."""
        with self._transaction():
            self.db.execute("DELETE FROM files WHERE id=? AND state=? AND attempts<=1", (file_id, RECEIVED))
            self.db.execute(
                "UPDATE files SET attempts=attempts-1 WHERE id=? AND state=? AND attempts>1", (file_id, RECEIVED)
            )

    def set_feedback(self, file_id: int, feedback_path: str) -> None:
        self.db.execute("UPDATE files SET feedback_path=? WHERE id=?", (feedback_path, file_id))

    def move_archive(self, file_id: int, archive_path: str) -> None:
        self.db.execute("UPDATE files SET archive_path=? WHERE id=?", (archive_path, file_id))

    def feedback_taken(self, feedback_path: str, file_id: int) -> bool:
        """Another file's feedback already uses this path, or one that differs only in letter case (Windows'
        file systems see Report_反馈.xlsx and report_反馈.xlsx, or Ａ and ａ, as one file): the paths of
        its folder, a range of the index, compared casefolded."""
        folder = feedback_path.rpartition("/")[0] + "/"
        rows = self.db.execute(
            "SELECT feedback_path FROM files WHERE feedback_path >= ? AND feedback_path < ? AND id<>?",
            (folder, folder + "\U0010ffff", file_id),
        )
        wanted = feedback_path.casefold()
        return any(path.casefold() == wanted for (path,) in rows)

    def submission(self, file_id: int) -> Submission | None:
        row = self.db.execute("SELECT data FROM submissions WHERE file_id=?", (file_id,)).fetchone()
        return submission_from_blob(row[0]) if row else None

    def submissions(
        self, file_ids: list[int], *, light: bool = False, cache: dict[int, Submission] | None = None
    ) -> dict[int, Submission]:
        """Several submissions at once (the summary loads thousands; light: see submission_from_json).

        `cache`: the submissions a previous call returned (a file's submission never changes once
        written): only the others are read, and it is left holding exactly this call's."""
        out: dict[int, Submission] = {}
        ids = list(file_ids)
        if cache is not None:
            out = {i: cache[i] for i in ids if i in cache}
            ids = [i for i in ids if i not in out]
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            marks = ",".join("?" * len(part))
            for file_id, data in self.db.execute(
                f"SELECT file_id, data FROM submissions WHERE file_id IN ({marks})", part
            ):
                out[file_id] = submission_from_blob(data, light=light)
        if cache is not None:
            cache.clear()
            cache.update(out)
        return out

    def counted(self, unit: str, year: int) -> FileRow | None:
        """The submission that counts for a unit and year: the latest accepted one not superseded."""
        rows = self._rows(
            "WHERE unit=? AND year=? AND state=? AND superseded_by IS NULL AND status IN (?, ?, ?) "
            "ORDER BY id DESC LIMIT 1",
            (unit, year, DONE, *COUNTED_STATUSES),
        )
        return rows[0] if rows else None

    def counted_units(self, year: int) -> set[str]:
        """Every unit with a counted submission for `year` (one query: callers skip `counted` for the rest)."""
        rows = self.db.execute(
            "SELECT DISTINCT unit FROM files WHERE year=? AND state=? AND superseded_by IS NULL AND status IN (?, ?, ?) "
            "AND unit IS NOT NULL",
            (year, DONE, *COUNTED_STATUSES),
        )
        return {unit for (unit,) in rows}

    def feedback_units(self, year: int) -> set[str]:
        """Every unit a feedback workbook was written for in `year` (one query, as counted_units)."""
        rows = self.db.execute(
            "SELECT DISTINCT unit FROM files WHERE year=? AND state=? AND feedback_path IS NOT NULL AND unit IS NOT NULL",
            (year, DONE),
        )
        return {unit for (unit,) in rows}

    def digest(self, years: tuple[int, ...]) -> str:
        """A digest of the file rows of these years as far as the summary can tell them apart: a row
        changes only through these columns (its findings with processed_at or superseded_by). Duplicates
        are left out: the summary never shows them (a clerk sending the same file again changes nothing)."""
        marks = ",".join("?" * len(years))
        rows = self.db.execute(
            "SELECT id, state, status, unit, agency, year, superseded_by, processed_at, length(findings) "
            f"FROM files WHERE year IN ({marks}) AND status IS NOT ? ORDER BY id",
            (*years, DUPLICATE),
        ).fetchall()
        return hashlib.sha256(repr(rows).encode()).hexdigest()

    def latest_counted_year(self) -> int | None:
        """The latest year a report counted for (None: none yet; a refused file, a typo's --year, is not one)."""
        return self.db.execute(
            "SELECT max(year) FROM files WHERE state=? AND status IN (?, ?, ?)", (DONE, *COUNTED_STATUSES)
        ).fetchone()[0]

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def _transaction(self) -> _Transaction:
        return _Transaction(self.db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return ""
