"""The `nianbao` command line: parse options, call the library, render, exit (one module per command)."""

from __future__ import annotations

import typer
import typer.rich_utils as rich_utils

from .. import __version__
from ..atomic import TEMP_PREFIX, FileInUse

# Typer's own words, in the language of our users.
rich_utils.OPTIONS_PANEL_TITLE = "选项"
rich_utils.ARGUMENTS_PANEL_TITLE = "参数"
rich_utils.COMMANDS_PANEL_TITLE = "命令"
rich_utils.ERRORS_PANEL_TITLE = "错误"
rich_utils.ABORTED_TEXT = "已中止。"
rich_utils.DEFAULT_STRING = "[默认：{}]"
rich_utils.REQUIRED_LONG_STRING = "[必填]"
rich_utils.ENVVAR_STRING = "[环境变量：{}]"


def _chinese_help_option() -> None:
    """Word the automatic -h/--help option in Chinese (typer offers no setting for it)."""
    from typer import core

    for cls in (core.TyperCommand, core.TyperGroup):
        original = cls.get_help_option

        def get_help_option(self, ctx, _original=original):  # type: ignore[no-untyped-def]
            option = _original(self, ctx)
            if option is not None:
                option.help = "显示本帮助并退出。"
            return option

        cls.get_help_option = get_help_option  # type: ignore[method-assign]


_chinese_help_option()

app = typer.Typer(
    name="nianbao",
    help="nianbao（年报）：政府信息公开工作年度报告的模板生成、校验与汇总工具。",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"nianbao {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="显示版本号后退出。"),
) -> None:
    """nianbao（年报）：政府信息公开工作年度报告的模板生成、校验与汇总工具。"""


from . import demo as _demo  # noqa: E402,F401  (registers commands)
from . import init as _init  # noqa: E402,F401  (registers commands)
from . import run as _run  # noqa: E402,F401  (registers commands)
from . import status as _status  # noqa: E402,F401  (registers commands)
from . import template as _template  # noqa: E402,F401  (registers commands)
from . import templates as _templates  # noqa: E402,F401  (registers commands)
from . import validate as _validate  # noqa: E402,F401  (registers commands)
from . import watch as _watch  # noqa: E402,F401  (registers commands)
from . import withdraw as _withdraw  # noqa: E402,F401  (registers commands)


def main() -> None:
    """The console script: a file that cannot be written or read (open in Excel, no right to write, the
    disk full) ends any command with one Chinese line naming it, not a traceback (exit 1)."""
    import multiprocessing
    import os
    import sys

    from ..archive import describe_error
    from .output import safe_streams

    safe_streams()
    multiprocessing.freeze_support()  # (a frozen nianbao.exe: its worker processes start through here)
    try:
        app(standalone_mode=True)
    except OSError as exc:
        where = getattr(exc, "filename", None)
        if where and os.path.basename(where).startswith(TEMP_PREFIX):  # (an output's temporary file: its folder)
            where = os.path.dirname(where)
        named = f"“{where}”：" if where and not isinstance(exc, FileInUse) else ""
        typer.echo(f"错误：{named}{describe_error(exc)}。", err=True)
        sys.exit(1)
