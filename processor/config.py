"""Job settings: defaults, then an optional nianbao.toml in the working folder, then command-line options."""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

CONFIG_FILE = "nianbao.toml"

# Keys of nianbao.toml and what they hold (the Chinese words say what a coordinator sees in errors).
_KEYS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "inbox": (str, "收件文件夹"),
    "outbox": (str, "输出文件夹"),
    "roster": (str, "单位名册文件"),
    "year": (int, "汇总年度"),
    "edition": ((str, int), "格式版本"),
    "stable_seconds": ((int, float), "文件稳定等待秒数"),
    "max_wait_seconds": ((int, float), "等待写入完成的最长秒数"),
    "poll_seconds": ((int, float), "监视时的扫描间隔秒数"),
    "lock_wait_seconds": ((int, float), "等待其他任务结束的秒数"),
    "workers": (int, "并行进程数"),
    "text_limit": (int, "“总体情况”字数上限"),
    "contact": (str, "填报说明中的联系方式"),
    "title": (str, "汇总范围名称"),
    "by_group": (bool, "另写各分组的汇总表"),
    "limits": (dict, "文件限制"),
    "similar_scan_limit": (int, "内容雷同比对每段文字的候选上限"),
}


class ConfigError(ValueError):
    """nianbao.toml or an option is wrong; the message (Chinese) names the file, the key and the fix."""


def default_year(today: dt.date | None = None) -> int:
    """Reports are filed early in the year for the year before: the default year is last year."""
    return (today or dt.date.today()).year - 1


@dataclass(frozen=True)
class Settings:
    """Everything one job needs to know; paths are absolute."""

    inbox: Path
    outbox: Path
    roster: Path | None = None
    year: int = field(default_factory=default_year)
    edition: str | None = None  # None: the edition that covers `year`
    stable_seconds: float = 3.0  # a file must keep its size and mtime this long before it is read
    max_wait_seconds: float = 30.0  # `run` waits at most this long for files still being written
    poll_seconds: float = 5.0  # `watch` scans the inbox at least this often
    lock_wait_seconds: float = 10.0  # a second job waits this long for the first, then gives up
    workers: int = 1  # processes checking files in parallel (1: in this process)
    text_limit: int | None = None
    contact: str | None = None
    title: str = ""  # what the summary covers, e.g. 某某市 (shown in its titles)
    by_group: bool = False  # also write one summary (and roll-up report) per roster group
    limits: dict[str, Any] = field(default_factory=dict)  # passed to the reader's Limits
    similar_scan_limit: int | None = None  # the text-similar rule's scan_limit for this job (0: every pair)
    source: Path | None = None  # the nianbao.toml these came from, if any
    roster_given: bool = False  # `roster` was given on the command line (a past year: not the one saved with it)
    inbox_given: bool = False  # `inbox` was given on the command line (a past year's job needs one of its own)
    config_year: int | None = None  # the year nianbao.toml names (or the default): the one its roster file is of

    def with_options(self, **options: Any) -> Settings:
        """These settings with every option that was actually given (not None) applied."""
        given = {k: v for k, v in options.items() if v is not None}
        for key in ("inbox", "outbox", "roster"):
            if key in given:
                given[key] = Path(given[key]).expanduser().resolve()
        if "edition" in given:
            given["edition"] = str(given["edition"])
        if "roster" in given:
            given["roster_given"] = True
        if "inbox" in given:
            given["inbox_given"] = True
        return replace(self, **given)


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def load_settings(folder: Path | None = None, config: Path | None = None, **options: Any) -> Settings:
    """Settings for a job run from `folder` (default: the current folder).

    Reads `config` or `folder/nianbao.toml` when it exists; relative paths in it are relative to the
    file's folder. Options given on the command line (not None) override the file.
    """
    folder = Path(folder or Path.cwd()).resolve()
    path = Path(config).resolve() if config else folder / CONFIG_FILE
    data: dict[str, Any] = {}
    if config and not path.is_file():
        raise ConfigError(f"找不到配置文件“{path}”。请检查路径，或运行 nianbao init 生成一个。")
    if path.is_file():
        data = _read_toml(path)
        base = path.parent
    else:
        path, base = None, folder
    settings = Settings(
        inbox=_path(base, data.get("inbox", "inbox")),
        outbox=_path(base, data.get("outbox", "outbox")),
        roster=_path(base, data["roster"]) if data.get("roster") else None,
        year=data.get("year", default_year()),
        config_year=data.get("year", default_year()),
        edition=str(data["edition"]) if "edition" in data else None,
        stable_seconds=float(data.get("stable_seconds", 3.0)),
        max_wait_seconds=float(data.get("max_wait_seconds", 30.0)),
        poll_seconds=float(data.get("poll_seconds", 5.0)),
        lock_wait_seconds=float(data.get("lock_wait_seconds", 10.0)),
        workers=int(data.get("workers", default_workers())),
        text_limit=data.get("text_limit"),
        contact=data.get("contact"),
        title=data.get("title", ""),
        by_group=bool(data.get("by_group", False)),
        limits=dict(data.get("limits", {})),
        similar_scan_limit=data.get("similar_scan_limit"),
        source=path,
    )
    settings = settings.with_options(**options)
    _validate(settings, path)
    return settings


def past_year_in_inbox(s: Settings) -> str | None:
    """Why a job for a year before the configured one must not take the configured inbox (None: it may):
    this year's reports in it would be refused as the wrong year's, and stand in that year's records."""
    if s.config_year is None or s.year >= s.config_year or s.inbox_given:
        return None
    from .inbox import skip_reason

    try:
        waiting = any(
            p.is_file() and skip_reason(p.name) is None and not any(part.startswith(".") for part in p.parts)
            for p in s.inbox.rglob("*")
        )
    except OSError:
        waiting = False
    if not waiting:
        return None
    return (
        f"要处理的是 {s.year} 年度（当前年度是 {s.config_year}），而收件文件夹“{s.inbox}”中有文件："
        f"其中 {s.config_year} 年度的报告会被当作 {s.year} 年度的文件退回。请把 {s.year} 年度补报、更正的文件放进"
        f"单独的文件夹，用 --inbox 指定，如 nianbao run --year {s.year} --inbox 补报{s.year}。"
    )


def configured_year(source: Path | None) -> int | None:
    """The year nianbao.toml names now (None: no file, no year, or not readable as it is now)."""
    if source is None:
        return None
    try:
        year = _read_toml(source).get("year")
    except ConfigError:
        return None
    return year if isinstance(year, int) else None


def _path(base: Path, value: str) -> Path:
    p = Path(value).expanduser()
    return (p if p.is_absolute() else base / p).resolve()


_BACKSLASH = (
    "Windows 路径中的反斜杠 \\ 在双引号里有特殊含义：请改用单引号（如 inbox = 'D:\\年报\\收件'），"
    '或把 \\ 写成 /（如 inbox = "D:/年报/收件"）。'
)


# tomllib's messages (English, "... (at line 3, column 9)") as a coordinator reads them.
_TOML_WORDS: tuple[tuple[str, str], ...] = (
    ("Unescaped '\\'", "双引号里出现了反斜杠 \\"),
    ("Illegal character '\\n'", "引号没有配对：文字的开头和结尾都要有英文引号"),
    ("Expected '=' after a key", "设置项名称后缺少英文等号“=”"),
    ("Invalid value", '值的写法无法识别：文字要放在英文引号里（如 inbox = "收件"），数字不加引号（如 year = 2025）'),
    ("Invalid statement", "这一行无法识别：每行应写成“设置项 = 值”"),
    ("Invalid initial character for a key part", "设置项名称的写法有误：名称只能由英文字母、数字和下划线组成"),
    ("Unterminated string", "引号没有配对：文字的开头和结尾都要有英文引号"),
    ("Cannot overwrite a value", "同一设置项写了两次：请删去其中一行"),
    ("Cannot declare", "同一设置项写了两次：请删去其中一行"),
    ("Cannot redefine namespace", "同一设置项写了两次：请删去其中一行"),
    ("Cannot mutate immutable namespace", "同一设置项写了两次：请删去其中一行"),
    ("Duplicate inline table key", "同一设置项写了两次：请删去其中一个"),
    ("Unclosed array", "方括号 [ ] 没有配对"),
    ("Unclosed inline table", "花括号 { } 没有配对"),
    ("Expected ']'", "方括号 [ ] 没有配对"),
    ("Invalid date or datetime", "日期的写法有误"),
    ("Illegal character", "含有不允许的字符（如制表符等控制字符）"),
    ("Found invalid character", "含有不允许的字符"),
)
_FULL_WIDTH = "＝“”‘’：，［］｛｝"  # what a Chinese input method types in place of = " ' : , [ ] { }


def toml_error(path: Path, text: str, exc: tomllib.TOMLDecodeError) -> str:
    """A TOML syntax error in Chinese: where (line, column, the line's text), what is wrong, what to do."""
    message = str(exc)
    found = re.search(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)$", message)
    english = message[: found.start()] if found else message
    what = next((zh for en, zh in _TOML_WORDS if english.startswith(en)), english)
    lines = text.splitlines()
    if found and found.group(1):
        number = int(found.group(1))
        where = f"第 {number} 行第 {found.group(2)} 列"
        line = lines[number - 1].strip() if 0 < number <= len(lines) else ""
    else:
        where = "文件末尾"
        line = next((ln.strip() for ln in reversed(lines) if ln.strip()), "")
    shown = f"（该行内容：{line}）" if line else ""
    hints = []
    if any(ch in line for ch in _FULL_WIDTH):
        hints.append("该行含有中文全角符号，请改用英文半角的 = \" ' 等符号。")
    if "\\" in line:
        hints.append(_BACKSLASH)
    return f"配置文件“{path}”{where}格式有误：{what}{shown}。{''.join(hints)}请按 nianbao init 生成的示例修改后重试。"


def _config_text(path: Path) -> str:
    """The config file's text: UTF-8 (with or without a BOM), else GB18030 (Notepad's "ANSI" on Chinese
    Windows, as a coordinator may save it), as the roster is read."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = _config_text(path)
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(toml_error(path, text, exc)) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"无法读取配置文件“{path}”：{exc}") from exc
    for key, value in data.items():
        if isinstance(value, str) and any(ch < " " for ch in value):  # "D:\temp\new": \t and \n read as escapes
            raise ConfigError(f"配置文件“{path}”中 {key} 的值含有控制字符（如制表符、换行符：{value!r}）。{_BACKSLASH}")
        if key not in _KEYS:
            known = "、".join(_KEYS)
            raise ConfigError(f"配置文件“{path}”中的“{key}”不是可识别的设置项（可用：{known}）。请删除或改正。")
        kind, label = _KEYS[key]
        if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):  # (a bool is an int)
            raise ConfigError(
                f"配置文件“{path}”中的 {key}（{label}）值“{value}”类型不对。请参照 nianbao init 生成的示例。"
            )
    return data


def _validate(s: Settings, source: Path | None) -> None:
    where = f"配置文件“{source}”或命令行选项" if source else "命令行选项"
    if not 1900 < s.year < 2200:
        raise ConfigError(f"{where}中的汇总年度 {s.year} 不合理，应为四位数字的年份，如 {default_year()}。")
    for name, value in (
        ("stable_seconds", s.stable_seconds),
        ("max_wait_seconds", s.max_wait_seconds),
        ("poll_seconds", s.poll_seconds),
        ("lock_wait_seconds", s.lock_wait_seconds),
    ):
        if value < 0:
            raise ConfigError(f"{where}中的 {name}（{_KEYS[name][1]}）不能为负数。")
    if s.poll_seconds == 0:
        raise ConfigError(f"{where}中的扫描间隔（poll_seconds）必须大于 0。")
    if s.workers < 1:
        raise ConfigError(f"{where}中的并行进程数（workers）至少为 1。")
    if s.similar_scan_limit is not None and s.similar_scan_limit < 0:
        raise ConfigError(
            f"{where}中的 similar_scan_limit（{_KEYS['similar_scan_limit'][1]}）不能为负数；0 表示全部比对。"
        )
    _validate_limits(s.limits, where)
    _validate_edition(s, where)
    if s.roster is not None and not s.roster.is_file():  # (before any folder is made for the job)
        raise ConfigError(
            f"找不到单位名册“{s.roster}”（{where}中的 roster）。请检查路径，或运行 nianbao init 生成示例名册。"
        )
    if s.inbox == s.outbox or s.outbox.is_relative_to(s.inbox):
        raise ConfigError(f"输出文件夹“{s.outbox}”不能与收件文件夹“{s.inbox}”相同或位于其中。请分开设置。")
    if s.inbox.is_relative_to(s.outbox):
        raise ConfigError(f"收件文件夹“{s.inbox}”不能位于输出文件夹“{s.outbox}”之中。请分开设置。")


def _validate_edition(s: Settings, where: str) -> None:
    """The year has an edition of the report format (or the edition named exists)."""
    from .spec import load_specs

    specs = load_specs()
    if s.edition is not None:
        if s.edition not in specs:
            raise ConfigError(f"{where}中的 edition = “{s.edition}”不是已有的报告格式（现有：{'、'.join(specs)}）。")
        if not specs[s.edition].covers(s.year):  # (as `template --year --edition` refuses it)
            right = next((spec.label for spec in specs.values() if spec.covers(s.year)), None)
            should = f"，{s.year} 年度的报告应使用 {right}格式" if right else ""
            raise ConfigError(
                f"{where}中的 edition = “{s.edition}”与汇总年度 {s.year} 不符{should}。请删去 edition（按年度自动选用）或改正。"
            )
    elif not any(spec.covers(s.year) for spec in specs.values()):
        first = min(spec.years[0] for spec in specs.values())
        raise ConfigError(
            f"{where}中的汇总年度 {s.year} 没有对应的报告格式：现有格式适用于 {first} 年及以后的年度报告。请改正 year。"
        )


def _validate_limits(limits: dict[str, Any], where: str) -> None:
    from dataclasses import fields

    from .fileformat import Limits

    known = {f.name: f.type for f in fields(Limits)}
    for key, value in limits.items():
        if key not in known:
            raise ConfigError(f"{where}中 [limits] 的“{key}”不是可识别的限制项（可用：{'、'.join(known)}）。")
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConfigError(f"{where}中 [limits] 的 {key} 应为正数，实际为“{value}”。")


EXAMPLE_TOML = """\
# nianbao（年报）配置文件。放在运行 nianbao 的文件夹中；命令行选项优先于这里的设置。
# 相对路径以本文件所在文件夹为准。以 # 开头的行是说明，删除行首的 # 即可启用该项。
# Windows 路径请用单引号，如 inbox = 'D:\\年报\\收件'（双引号里的 \\ 有特殊含义），或写成 "D:/年报/收件"。

# 收件文件夹：各单位提交的年报工作簿放在这里（可以有子文件夹，例如每个县区一个）。
inbox = "inbox"

# 输出文件夹：归档、反馈、汇总表、台账（ledger.sqlite）和日志都写在这里。
outbox = "outbox"

# 单位名册（.csv 或 .xlsx）：列出应报送的全部单位，用于核对名称、统计未报送单位。
roster = "名册.csv"

# 汇总范围名称，显示在汇总表标题中，如“某某市”。
# title = "某某市"

# 汇总年度（报告所属年度）。不填时为上一年。
year = {year}

# 报告格式版本：2019 或 2021。不填时按年度确定（2020 年度及以前用 2019 年版）。
# edition = "2021"

# 文件大小和修改时间保持不变多少秒后才读取（防止读到正在复制的半截文件）。共享文件夹建议 5 秒以上。
stable_seconds = 3

# nianbao run 等待正在写入的文件最多多少秒；超时的文件留在收件文件夹，下次再处理。
max_wait_seconds = 30

# nianbao watch 每隔多少秒扫描一次收件文件夹。
poll_seconds = 5

# 另一个任务正在运行时，最多等待多少秒。
lock_wait_seconds = 10

# 并行校验的进程数；不填时为本机 CPU 核数。
# workers = 4

# 内容雷同比对默认全部比对（一万个单位约 2.5 秒）。单位数远超一万、需要控制耗时时，可设一个上限：同一部分超过
# 2000 段不同的文字时，每段只与至多这么多个候选比对，汇总表的问题清单会提示有多少单位的比对未穷尽。
# similar_scan_limit = 200

# 填报说明中“如有疑问请联系”的内容（用于 nianbao templates 生成的模板）。
# contact = "市政务公开办 张三 0000-0000000"

# 文件限制（一般不需要修改）：超出的文件不予读取，按“被退回”处理。
# [limits]
# max_file_bytes = 52428800          # 文件大小上限（字节），默认 50 MB
# max_entries = 2000                 # 工作簿（zip）中的条目数上限
# max_uncompressed_bytes = 104857600 # 解压后总大小上限（字节），默认 100 MB
# max_ratio = 200                    # 压缩比上限
"""


def example_toml(year: int | None = None) -> str:
    # (with a BOM and CRLF: the Notepad of older Windows Server shows LF-only text as one line)
    return "\ufeff" + EXAMPLE_TOML.format(year=year or default_year()).replace("\n", "\r\n")
