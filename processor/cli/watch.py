"""`nianbao watch`: keep processing the inbox as files arrive, refreshing the outputs, until Ctrl-C."""

from __future__ import annotations

from pathlib import Path

import typer
from loguru import logger

from ..config import ConfigError
from ..joblock import JobBusy
from ..ledger import LedgerError
from ..logs import setup_logging
from ..roster import RosterError
from ..watch import stop_on_interrupt, watch
from . import app
from .run import (
    BY_GROUP,
    CONFIG,
    INBOX,
    OUTBOX,
    ROSTER,
    WAIT,
    WORKERS,
    YEAR,
    fail,
    refuse_past_year_in_inbox,
    settings_from,
)


@app.command("watch")
def watch_command(
    inbox: Path | None = INBOX,
    outbox: Path | None = OUTBOX,
    roster: Path | None = ROSTER,
    year: int | None = YEAR,
    config: Path | None = CONFIG,
    workers: int | None = WORKERS,
    wait: float | None = WAIT,
    poll: float | None = typer.Option(
        None,
        "--poll",
        help="只用定时扫描，每隔这么多秒扫描一次（收件文件夹在网络共享盘上时必须使用）。不给时使用文件系统事件并每 5 秒补扫一次。",
    ),
    by_group: bool | None = BY_GROUP,
) -> None:
    """持续监视收件文件夹：每个文件写入完成后立即处理，并刷新汇总表。按 Ctrl+C 停止。

    与 run 的处理完全相同（校验、反馈、归档、台账）。收件文件夹在网络共享盘（SMB/NFS）上时，
    其他电脑写入的文件不会产生事件，请使用 --poll。加 --by-group 时，每来一个文件只重写它所在分组的汇总表。
    """
    settings = settings_from(
        config,
        inbox=inbox,
        outbox=outbox,
        roster=roster,
        year=year,
        workers=workers,
        wait=wait,
        poll_seconds=poll,
        by_group=by_group,
    )
    refuse_past_year_in_inbox(settings)
    try:
        setup_logging(settings.outbox)
        with stop_on_interrupt() as stop:
            watch(settings, force_poll=poll is not None, stop=stop)
    except KeyboardInterrupt:
        typer.echo("已中断。已处理的文件都已归档并登记；下次运行会继续处理其余文件。", err=True)
        raise typer.Exit(130) from None
    except (JobBusy, RosterError, ConfigError, LedgerError, OSError) as exc:
        raise fail(exc) from exc
    except Exception as exc:  # the job itself broke: one line here, the traceback in the log
        logger.opt(exception=exc).debug("watch failed")
        raise fail(exc) from exc
