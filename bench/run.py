"""Province-scale benchmark (issue 7): our batch job against the script a coordinator would write.

    make bench                 # N = 10,000
    N=1000 make bench
    python bench/run.py --n 500 --workers 2 [--keep] [--skip-baseline] [--baseline-sample K] [--no-docs]

Steps, all in one run, on one machine:

0. the corpus: N distinct filled workbooks + a roster of N + 1 units + one late file
   (bench/generate.py; generated once and cached in bench/cache/<N>/);
1. a fresh working folder (temp dir): inbox = copy of the cached workbooks (mtimes kept), empty outbox;
2. cold run: `python -m processor run --inbox … --outbox … --roster … --year 2025 --json --workers W`
   as a subprocess (no ledger yet): wall time, CPU time, peak memory of the process tree;
3. re-run: the late workbook dropped into the (now emptied) inbox, the same command again; then once
   more with nothing new (the outputs are left as they are: no target, printed for information);
4. summary: the summary workbook for all units written from the run's ledger, timed in its own process;
   watch: `nianbao watch` started on the same folders; one more new file dropped into the inbox; time
   until the summary file is rewritten (target: the stability window + 2 s);
5. baseline: bench/baseline.py (openpyxl load_workbook(data_only=True) + add up every number cell)
   over the same N files, as a subprocess;
6. every figure and ratio printed with pass/fail against the targets; a row appended to the results
   table in docs/benchmarks.md (unless --no-docs) and the full record saved as JSON.

Peak memory is measured two ways: the kernel's high-water mark of the largest single process
(wait4 ru_maxrss), and the sum over the whole process tree (parent and workers) polled from /proc
every 50 ms: RSS (counts pages shared by forked workers twice: an upper bound) and, once a second,
PSS (shares them; sampled less often because it is costly to read, so a lower bound of its peak).
The target is judged on the tree's RSS sum, the conservative figure.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.generate import YEAR, Corpus, cached, generate

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
DOC = ROOT / "docs" / "benchmarks.md"
RESULTS_DIR = BENCH / "cache" / "results"
PY = sys.executable

TARGET_RATIO = 0.2  # cold run ≤ 0.2 × baseline
TARGET_COLD_S = 20.0  # for 10,000 files
TARGET_RERUN_S = 2.0
TARGET_PEAK_MB = 400.0  # for 10,000 files
TARGET_SUMMARY_S = 10.0  # for 10,000 units
FULL_N = 10_000

ROWS_START, ROWS_END = "<!-- bench:rows:start -->", "<!-- bench:rows:end -->"
LATEST_START, LATEST_END = "<!-- bench:latest:start -->", "<!-- bench:latest:end -->"


# ---- machine ---------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        mem_gb = round(kb / 1024 / 1024, 1)
    except (OSError, AttributeError):
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    commit = _git("rev-parse", "--short", "HEAD")
    dirty = bool(_git("status", "--porcelain", "--", "processor"))
    return {
        "uname": _uname(),
        "cpu": cpu,
        "cores": cores,
        "memory_gb": mem_gb,
        "python": platform.python_version(),
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "commit": (commit or "?") + (" + uncommitted processor/ changes" if dirty else ""),
        "load_before": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }


def _uname() -> str:
    try:
        return subprocess.run(["uname", "-a"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return " ".join(x for x in platform.uname() if x)


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


# ---- measuring a process tree --------------------------------------------------------------------------

PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                kids += [int(x) for x in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
            except OSError:
                continue
    except OSError:
        pass
    return kids


def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += _children(p)
    return out


def _rss(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def _pss(pid: int) -> int:
    """Proportional set size; costly for a large process (the kernel walks its page tables)."""
    try:
        m = re.search(r"^Pss:\s+(\d+) kB", Path(f"/proc/{pid}/smaps_rollup").read_text(), re.M)
        return int(m.group(1)) * 1024 if m else _rss(pid)
    except OSError:
        return _rss(pid)


class TreeMonitor(threading.Thread):
    """Polls the memory of a process and all its descendants; keeps the peaks of the sums.

    RSS every `interval` (cheap: /proc/<pid>/statm); PSS only every `pss_every` samples, so that the
    monitor itself costs about 1 % of a core even when it watches a process of 1 GB.
    """

    def __init__(self, pid: int, interval: float = 0.05, pss_every: int = 20) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval, self.pss_every = pid, interval, pss_every
        self.peak_rss = self.peak_pss = 0
        self.peak_procs = 0
        self.samples = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            pids = _tree(self.pid)
            self.peak_rss = max(self.peak_rss, sum(_rss(p) for p in pids))
            if self.samples % self.pss_every == 0:
                self.peak_pss = max(self.peak_pss, sum(_pss(p) for p in pids))
            self.peak_procs = max(self.peak_procs, len(pids))
            self.samples += 1
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def measured(
    cmd: list[str], *, cwd: Path, out: Path, err: Path, timeout: float | None = None, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run a command; wall time, CPU time of it and its children, peak memory (single and tree).
    `env`: variables added to this process's environment."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1", **(env or {})}
    with out.open("wb") as fo, err.open("wb") as fe:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=fo, stderr=fe, env=env)
        mon = TreeMonitor(proc.pid)
        mon.start()
        timer = threading.Timer(timeout, proc.kill) if timeout else None
        if timer:
            timer.start()
        _, status, usage = os.wait4(proc.pid, 0)  # blocks; rusage of the child and its reaped children
        wall = time.perf_counter() - start
        if timer:
            timer.cancel()
        mon.stop()
        proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "seconds": round(wall, 3),
        "rc": proc.returncode,
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3),
        "max_single_mb": round(usage.ru_maxrss / 1024, 1),  # KiB on Linux
        "tree_rss_mb": round(mon.peak_rss / 2**20, 1),
        "tree_pss_mb": round(mon.peak_pss / 2**20, 1),
        "processes": mon.peak_procs,
        "samples": mon.samples,
    }


# ---- the steps ---------------------------------------------------------------------------------------


def batch_available() -> tuple[bool, str]:
    """Whether `python -m processor run` exists (the batch job may not have landed yet)."""
    try:
        r = subprocess.run(
            [PY, "-m", "processor", "run", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return False, str(exc)
    if r.returncode != 0:
        return False, (r.stderr or r.stdout).strip().splitlines()[-1:][0] if (r.stderr or r.stdout) else "no output"
    return True, ""


def prepare(corpus: Corpus, work: Path, stable_seconds: float | None) -> dict[str, Path]:
    paths = {"inbox": work / "inbox", "outbox": work / "outbox", "roster": work / "roster.csv", "cwd": work}
    shutil.copytree(corpus.inbox, paths["inbox"], copy_function=shutil.copy2)  # mtimes kept: files are "old"
    paths["outbox"].mkdir()
    shutil.copy2(corpus.roster, paths["roster"])
    if stable_seconds is not None:
        (work / "nianbao.toml").write_text(f"stable_seconds = {stable_seconds}\n", encoding="utf-8")
    return paths


def run_cmd(paths: dict[str, Path], workers: int) -> list[str]:
    return [
        PY,
        "-m",
        "processor",
        "run",
        "--inbox",
        str(paths["inbox"]),
        "--outbox",
        str(paths["outbox"]),
        "--roster",
        str(paths["roster"]),
        "--year",
        str(YEAR),
        "--json",
        "--workers",
        str(workers),
    ]


def _json_out(path: Path) -> dict[str, Any] | None:
    text = path.read_text(encoding="utf-8", errors="replace").strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        start = text.find("{")  # tolerate a log line before the JSON
        try:
            return json.loads(text[start:]) if start >= 0 else None
        except ValueError:
            return None


def _tail(path: Path, lines: int = 1) -> str:
    """The last lines of a process's output (the exception line of a traceback, by default)."""
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-lines:])


def run_ours(label: str, paths: dict[str, Path], workers: int, log) -> dict[str, Any]:
    out, err = paths["cwd"] / f"{label}.json", paths["cwd"] / f"{label}.stderr"
    log(f"[{label}] python -m processor run … --workers {workers}")
    m = measured(run_cmd(paths, workers), cwd=paths["cwd"], out=out, err=err)
    data = _json_out(out)
    m["ok"] = m["rc"] == 0 and data is not None  # 0: the job completed, whatever the units did
    if data is not None:
        m["report"] = {k: data.get(k) for k in ("received", "accepted", "accepted_with_warnings", "explained")}
        m["report"] |= {k: data.get(k) for k in ("rejected", "duplicates", "errors", "units", "summary")}
        m["report"]["missing"] = len(data.get("missing") or [])
        m["report"]["waiting"] = len(data.get("waiting") or [])
        m["timings"] = data.get("timings")
        m["file_status"] = {f.get("file"): f.get("status") for f in data.get("files") or []}
    else:
        m["error"] = _tail(err) or _tail(out)
    log(
        f"[{label}] {m['seconds']:.2f} s wall, {m['cpu_seconds']:.2f} s CPU, exit {m['rc']}, "
        f"tree peak {m['tree_rss_mb']:.0f} MB RSS / {m['tree_pss_mb']:.0f} MB PSS"
    )
    if not m["ok"]:
        log(f"[{label}] FAILED: {m.get('error')}")
    return m


def run_summary(paths: dict[str, Path], log) -> dict[str, Any]:
    out, err = paths["cwd"] / "summary.json", paths["cwd"] / "summary.stderr"
    cmd = [PY, str(BENCH / "summary_time.py"), "--outbox", str(paths["outbox"]), "--roster", str(paths["roster"])]
    cmd += ["--year", str(YEAR), "--scratch", str(paths["cwd"] / "summary-scratch")]
    log("[summary] summary data from the run's ledger, then the summary workbook")
    m = measured(cmd, cwd=paths["cwd"], out=out, err=err)
    data = _json_out(out)
    if m["rc"] != 0 or data is None:
        m["ok"], m["error"] = False, _tail(err) or _tail(out)
        log(f"[summary] FAILED: {m['error']}")
        return m
    m |= data
    m["ok"] = True
    log(
        f"[summary] {data['writer']}: {data['units']} units, load {data['load_seconds']:.2f} s, "
        f"write {data['write_seconds']:.2f} s, {data['bytes'] / 1024:.0f} KiB, peak {m['max_single_mb']:.0f} MB"
    )
    return m


def run_baseline(inbox: Path, sample_k: int | None, work: Path, log) -> dict[str, Any]:
    out, err = work / "baseline.json", work / "baseline.stderr"
    cmd = [PY, str(BENCH / "baseline.py"), "--inbox", str(inbox), "--json"]
    if sample_k:
        cmd += ["--sample", str(sample_k)]
    log(
        f"[baseline] openpyxl load_workbook(data_only=True) over {inbox}"
        + (f" (sample {sample_k})" if sample_k else "")
    )
    m = measured(cmd, cwd=ROOT, out=out, err=err)
    data = _json_out(out)
    if m["rc"] != 0 or data is None:
        m["ok"], m["error"] = False, _tail(err)
        log(f"[baseline] FAILED: {m['error']}")
        return m
    m["ok"] = True
    m["process_seconds"] = m["seconds"]
    if data["extrapolated"]:  # the process ran on a sample: scale the loop to all files
        m["seconds"] = round(m["seconds"] - data["seconds_measured"] + data["seconds"], 3)
    m |= {k: v for k, v in data.items() if k != "seconds"}
    what = f"EXTRAPOLATED from {data['measured_files']} files" if data["extrapolated"] else "measured on all files"
    log(
        f"[baseline] {m['seconds']:.1f} s ({what}), {data['ms_per_file']:.1f} ms/file, peak {m['max_single_mb']:.0f} MB"
    )
    return m


def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return -1


def run_watch(paths: dict[str, Path], drop: Path, summary: Path | None, workers: int, log) -> dict[str, Any]:
    """Start `nianbao watch`, wait until it idles, drop one new file, time until the summary is rewritten.

    The file is copied in with a fresh modification time (as a file saved or copied right now), so
    the job's stability window applies in full; the target is that window plus 2 s.
    """
    cmd = run_cmd(paths, workers)
    cmd[cmd.index("run")] = "watch"
    cmd.remove("--json")
    out, err = paths["cwd"] / "watch.stdout", paths["cwd"] / "watch.stderr"
    res: dict[str, Any] = {"ok": False}
    if summary is None:
        res["error"] = "the run reported no summary path"
        return res
    log("[watch] python -m processor watch …")
    with out.open("wb") as fo, err.open("wb") as fe:
        proc = subprocess.Popen(cmd, cwd=paths["cwd"], stdout=fo, stderr=fe, env={**os.environ, "NO_COLOR": "1"})
        mon = TreeMonitor(proc.pid)
        mon.start()
        try:
            started = time.perf_counter()
            last, quiet_since = _cpu_ticks(proc.pid), time.perf_counter()
            while time.perf_counter() - started < 60 and proc.poll() is None:  # idle: no CPU used for 1 s
                time.sleep(0.1)
                now_ticks = _cpu_ticks(proc.pid)
                if now_ticks != last:
                    last, quiet_since = now_ticks, time.perf_counter()
                elif time.perf_counter() - quiet_since >= 1.0 and time.perf_counter() - started >= 2.0:
                    break
            if proc.poll() is not None:
                res["error"] = "watch exited early: " + _tail(err)
                return res
            res["startup_seconds"] = round(time.perf_counter() - started, 2)
            before = summary.stat().st_mtime_ns if summary.exists() else 0
            target = paths["inbox"] / drop.name
            t0 = time.perf_counter()
            shutil.copyfile(drop, target)  # fresh mtime: a file saved into the inbox just now
            gone = None
            while time.perf_counter() - t0 < 120:
                if gone is None and not target.exists():
                    gone = time.perf_counter() - t0
                if summary.exists() and summary.stat().st_mtime_ns != before:
                    res["seconds"] = round(time.perf_counter() - t0, 3)
                    res["archived_after"] = round(gone, 3) if gone is not None else None
                    res["ok"] = True
                    break
                time.sleep(0.02)
            else:
                res["error"] = "the summary was not rewritten within 120 s"
        finally:
            proc.send_signal(signal.SIGINT)  # our own child, by its pid
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            mon.stop()
    res["tree_rss_mb"] = round(mon.peak_rss / 2**20, 1)
    if res["ok"]:
        log(
            f"[watch] summary rewritten {res['seconds']:.2f} s after the drop (file archived after {res['archived_after']} s)"
        )
    else:
        log(f"[watch] FAILED: {res.get('error')}")
    return res


def stable_window(paths: dict[str, Path]) -> float:
    """The stability window the job uses: nianbao.toml in the working folder, else the product default."""
    try:
        from processor.config import load_settings

        return float(load_settings(paths["cwd"]).stable_seconds)
    except Exception:
        return 3.0


def compare_expected(corpus: Corpus, status: dict[str, str]) -> dict[str, dict[str, int]]:
    """What the generator put in (category, flags) against the status our run gave each file."""
    table: dict[str, Counter[str]] = {}
    with corpus.expected.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["file"] not in status:
                continue
            key = row["category"] + "".join(
                f"+{f}" for f in row["flags"].split(",") if f in ("name-variant", "nocache")
            )
            table.setdefault(key, Counter())[status[row["file"]]] += 1
    return {k: dict(v) for k, v in sorted(table.items())}


# ---- report -------------------------------------------------------------------------------------------


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def figures(res: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(figure, value, target, verdict) rows."""
    n = res["n"]
    full = n == FULL_N
    cold, rerun, summ, base = (res.get(k) or {} for k in ("cold", "rerun", "summary", "baseline"))
    rows: list[tuple[str, str, str, str]] = []
    gen = res["corpus"]
    rows.append(
        (
            "corpus",
            f"{n} files, avg {gen['bytes_avg'] / 1024:.1f} KiB; generated in {gen['seconds']:.0f} s "
            f"({gen['workers']} workers{', cached' if res['corpus_cached'] else ''})",
            "",
            "",
        )
    )
    if base.get("ok"):
        how = "extrapolated" if base.get("extrapolated") else "measured"
        rows.append(
            (
                "baseline (openpyxl, 1 process)",
                f"{base['seconds']:.1f} s ({how}; {base['ms_per_file']:.1f} ms/file; peak {base['max_single_mb']:.0f} MB)",
                "",
                "",
            )
        )
    if cold.get("ok"):
        per = cold["seconds"] / n * 1000
        target = TARGET_COLD_S * n / FULL_N
        rows.append(
            (
                "cold run",
                f"{cold['seconds']:.2f} s wall ({per:.2f} ms/file), {cold['cpu_seconds']:.1f} s CPU",
                f"≤ {target:.1f} s" + ("" if full else " (20 s scaled to N)"),
                verdict(cold["seconds"] <= target),
            )
        )
        if base.get("ok"):
            ratio = cold["seconds"] / base["seconds"]
            rows.append(("cold / baseline", f"{ratio:.3f}×", f"≤ {TARGET_RATIO}×", verdict(ratio <= TARGET_RATIO)))
        peak_ok = cold["tree_rss_mb"] < TARGET_PEAK_MB if full else None
        rows.append(
            (
                "peak memory (cold run)",
                f"{cold['tree_rss_mb']:.0f} MB tree RSS, {cold['tree_pss_mb']:.0f} MB tree PSS, "
                f"{cold['max_single_mb']:.0f} MB largest process ({cold['processes']} processes)",
                f"< {TARGET_PEAK_MB:.0f} MB" + ("" if full else " (at N=10,000)"),
                verdict(peak_ok) if full else f"({verdict(cold['tree_rss_mb'] < TARGET_PEAK_MB)} at this N)",
            )
        )
    elif cold:
        rows.append(("cold run", "FAILED: " + str(cold.get("error", ""))[:200], "", "FAIL"))
    if rerun.get("ok"):
        rows.append(
            (
                "re-run, 1 new file",
                f"{rerun['seconds']:.2f} s wall, {rerun['cpu_seconds']:.2f} s CPU",
                f"< {TARGET_RERUN_S:.0f} s",
                verdict(rerun["seconds"] < TARGET_RERUN_S),
            )
        )
    elif rerun:
        rows.append(("re-run, 1 new file", "FAILED: " + str(rerun.get("error", ""))[:200], "", "FAIL"))
    noop = res.get("noop") or {}
    if noop.get("ok"):
        value = f"{noop['seconds']:.2f} s wall, {noop['cpu_seconds']:.2f} s CPU"
        rows.append(("re-run, nothing new", value, "(no target)", ""))
    if summ.get("ok"):
        target = TARGET_SUMMARY_S
        csv_only = "CSV" in summ.get("writer", "")
        rows.append(
            (
                "summary write",
                f"{summ['write_seconds']:.2f} s for {summ['units']} units ({summ['writer']}); "
                f"ledger load {summ['load_seconds']:.2f} s",
                f"< {target:.0f} s" + ("" if full else " (at N=10,000)"),
                "n/a (no workbook writer)"
                if csv_only
                else verdict(summ["write_seconds"] < target)
                if full
                else f"({verdict(summ['write_seconds'] < target)} at this N)",
            )
        )
    elif summ:
        rows.append(("summary write", "FAILED: " + str(summ.get("error", ""))[:200], "", "FAIL"))
    watch = res.get("watch") or {}
    if watch.get("ok"):
        limit = watch["window"] + 2.0
        rows.append(
            (
                "watch: drop → summary",
                f"{watch['seconds']:.2f} s (stability window {watch['window']:.0f} s)",
                f"≤ {limit:.0f} s (window + 2 s)",
                verdict(watch["seconds"] <= limit),
            )
        )
    elif watch:
        rows.append(("watch: drop → summary", "FAILED: " + str(watch.get("error", ""))[:200], "", "FAIL"))
    for name, why in res.get("skipped", {}).items():
        rows.append((name, f"not measured: {why}", "", "n/a"))
    return rows


def timing_lines(res: dict[str, Any]) -> list[tuple[str, str]]:
    """The job's own breakdown (`timings` of `nianbao run --json`) of the cold run and the re-run.

    `files.check` and `files.feedback` are CPU-ish seconds summed over the workers (they overlap);
    the other `files.*` parts are the main process's; `files` is the wall time of the per-file steps.
    """
    out = []
    for label in ("cold", "rerun", "noop"):
        t = (res.get(label) or {}).get("timings") or {}
        if t:
            out.append((label, ", ".join(f"{k} {v:.2f}" for k, v in t.items())))
    return out


def print_report(res: dict[str, Any]) -> None:
    m = res["machine"]
    print()
    print(f"nianbao benchmark — N = {res['n']}, workers = {res['workers']}")
    print(f"machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, Python {m['python']}, {m['date']}")
    print(f"commit: {m['commit']}")
    print()
    rows = figures(res)
    w0 = max(len(r[0]) for r in rows)
    for name, value, target, v in rows:
        print(f"  {name:<{w0}}  {value}" + (f"   [target {target}: {v}]" if target else (f"   [{v}]" if v else "")))
    for label, text in timing_lines(res):
        print(f"  {label} timings (s): {text}")
    if res.get("expected_vs_status"):
        print()
        print("  generator category → status given by the cold run:")
        for key, counts in res["expected_vs_status"].items():
            print(f"    {key:<24} {counts}")
    print()


def _md_row(res: dict[str, Any]) -> str:
    m = res["machine"]
    cold, rerun, summ, base, watch = (res.get(k) or {} for k in ("cold", "rerun", "summary", "baseline", "watch"))

    def s(d: dict, key: str, fmt: str = "{:.2f} s") -> str:
        return fmt.format(d[key]) if d.get("ok") and d.get(key) is not None else "—"

    ratio = f"{cold['seconds'] / base['seconds']:.3f}×" if cold.get("ok") and base.get("ok") else "—"
    base_s = s(base, "seconds", "{:.1f} s") + (" (extrap.)" if base.get("extrapolated") else "")
    return (
        f"| {m['date'][:16].replace('T', ' ')} | {res['n']} | {res['workers']} | {m['cpu']}, {m['cores']} cores | "
        f"{m['commit']} | {s(cold, 'seconds')} | {s(rerun, 'seconds')} | {s(cold, 'tree_rss_mb', '{:.0f} MB')} | "
        f"{s(summ, 'write_seconds')} | {s(watch, 'seconds')} | {base_s} | {ratio} |"
    )


def update_doc(res: dict[str, Any]) -> None:
    """Append a row to the results table of docs/benchmarks.md and replace the latest run's details."""
    if not DOC.is_file():
        print(f"({DOC} missing: results not recorded there)")
        return
    text = DOC.read_text(encoding="utf-8")
    if ROWS_START not in text or LATEST_START not in text:
        print(f"({DOC} has no bench markers: results not recorded there)")
        return
    head, rest = text.split(ROWS_START, 1)
    rows, tail = rest.split(ROWS_END, 1)
    rows = rows.rstrip("\n") + "\n" + _md_row(res) + "\n"
    text = head + ROWS_START + rows + ROWS_END + tail
    m = res["machine"]
    lines = [
        f"N = {res['n']}, workers = {res['workers']}, {m['date']}",
        f"machine: `{m['uname']}`; {m['cpu']}; {m['cores']} cores; {m['memory_gb']} GB; Python {m['python']}; "
        f"load average before the run {m['load_before']}",
        "",
        "| figure | value | target | verdict |",
        "|---|---|---|---|",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in figures(res)],
    ]
    timings = timing_lines(res)
    if timings:
        lines += ["", "Where the time went (`timings` of `nianbao run --json`, seconds):", ""]
        lines += [f"- {label}: {text}" for label, text in timings]
    if res.get("expected_vs_status"):
        lines += ["", "Generator category → status given by the cold run:", ""]
        lines += [f"- `{k}`: {v}" for k, v in res["expected_vs_status"].items()]
    head, rest = text.split(LATEST_START, 1)
    _, tail = rest.split(LATEST_END, 1)
    text = head + LATEST_START + "\n" + "\n".join(lines) + "\n" + LATEST_END + tail
    DOC.write_text(text, encoding="utf-8")
    print(f"results recorded in {DOC.relative_to(ROOT)}")


# ---- main ----------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="province-scale benchmark: nianbao run vs a naive openpyxl script")
    ap.add_argument("--n", type=int, default=FULL_N, help="number of workbooks (default 10000)")
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="--workers of nianbao run")
    ap.add_argument("--gen-workers", type=int, default=min(2, os.cpu_count() or 1), help="processes generating")
    ap.add_argument("--keep", action="store_true", help="keep the working folder (inbox, outbox, outputs)")
    ap.add_argument("--skip-baseline", action="store_true", help="do not run the openpyxl baseline")
    ap.add_argument(
        "--baseline-sample", type=int, default=None, metavar="K", help="time the baseline on K files and extrapolate"
    )
    ap.add_argument(
        "--stable-seconds",
        type=float,
        default=None,
        help="write stable_seconds into the job's nianbao.toml (default: the product's own default)",
    )
    ap.add_argument("--skip-watch", action="store_true", help="do not measure the latency of `nianbao watch`")
    ap.add_argument("--no-docs", action="store_true", help="do not record the results in docs/benchmarks.md")
    args = ap.parse_args(argv)

    def log(msg: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {msg}", flush=True)

    corpus = cached(args.n)
    cached_now = corpus is not None
    corpus = corpus or generate(args.n, args.gen_workers, log=log)
    log(
        f"corpus: {corpus.root} ({'cached' if cached_now else 'generated'}; {corpus.manifest['seconds']} s to generate)"
    )
    res: dict[str, Any] = {
        "n": args.n,
        "workers": args.workers,
        "machine": machine(),
        "corpus": corpus.manifest,
        "corpus_cached": cached_now,
        "skipped": {},
        "stable_seconds": args.stable_seconds,
    }
    work = Path(tempfile.mkdtemp(prefix=f"nianbao-bench-{args.n}-"))
    try:
        paths = prepare(corpus, work, args.stable_seconds)
        available, why = batch_available()
        if available:
            res["cold"] = run_ours("cold", paths, args.workers, log)
            status = res["cold"].pop("file_status", {})
            if status:
                res["expected_vs_status"] = compare_expected(corpus, status)
            left = sorted(p.name for p in paths["inbox"].iterdir())
            if left:
                log(f"note: {len(left)} file(s) still in the inbox after the cold run (e.g. {left[0]})")
            shutil.copy2(corpus.late, paths["inbox"] / corpus.late.name)
            res["rerun"] = run_ours("rerun", paths, args.workers, log)
            res["rerun"].pop("file_status", None)
            res["noop"] = run_ours("noop", paths, args.workers, log)  # nothing new: outputs left as they are
            res["noop"].pop("file_status", None)
            if res["cold"]["ok"]:
                res["summary"] = run_summary(paths, log)
            if args.skip_watch:
                res["skipped"]["watch latency"] = "--skip-watch"
            elif res["cold"]["ok"]:
                summary = (res["cold"].get("report") or {}).get("summary")
                res["watch"] = run_watch(paths, corpus.watch, Path(summary) if summary else None, args.workers, log)
                res["watch"]["window"] = stable_window(paths)
        else:
            msg = f"the batch job is not available yet (`python -m processor run --help` failed: {why})"
            log(msg)
            for name in ("cold run", "re-run, 1 new file", "peak memory", "summary write", "watch latency"):
                res["skipped"][name] = "batch job (`nianbao run`) missing"
        if args.skip_baseline:
            res["skipped"]["baseline (openpyxl)"] = "--skip-baseline"
        else:
            res["baseline"] = run_baseline(corpus.inbox, args.baseline_sample, work, log)
    finally:
        if args.keep:
            log(f"working folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print_report(res)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    record = RESULTS_DIR / f"{dt.datetime.now():%Y%m%d-%H%M%S}-n{args.n}.json"
    record.write_text(json.dumps(res, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    print(f"full record: {record.relative_to(ROOT)}")
    if not args.no_docs:
        update_doc(res)
    failed = [r for r in figures(res) if r[3] == "FAIL"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
