"""`nianbao demo`: build the demo city 云溪市 in ./demo, run the whole job on it, show what came out."""

from __future__ import annotations

from pathlib import Path

import typer

from ..archive import describe_error
from ..batch import run_batch
from ..config import load_settings
from ..consolidate import COUNTED
from ..demo import YEAR, build, fill_history, fill_inbox
from ..logs import setup_logging
from ..spec import get_spec
from . import app
from .run import render_run
from .status import render_status, status_rows


@app.command("demo")
def demo_command(
    folder: Path = typer.Option(Path("demo"), "--folder", help="演示文件夹（每次重新生成；默认 ./demo）。"),
) -> None:
    """生成虚构城市“云溪市”的演示数据（单位名册、上年报告、本年收件文件夹），运行完整流程并展示结果。

    演示文件夹每次都会重新生成，不会碰到项目本身的 inbox、outbox。
    """
    try:
        demo = build(folder)
    except FileExistsError as exc:
        typer.echo(f"错误：{exc}", err=True)
        raise typer.Exit(2) from exc
    except OSError as exc:
        typer.echo(f"错误：{describe_error(exc)}。", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"演示文件夹：{demo.root}")
    typer.echo(f"  单位名册：{demo.roster}（13 个单位：市直部门、东湖区、西山县及其乡镇）")
    typer.echo(f"  配置文件：{demo.config}")

    fill_history(demo)
    typer.echo(f"\n第一步：处理 {YEAR - 1} 年度的 {len(demo.history)} 份报告（作为本年度跨年核对的依据）……")
    setup_logging(demo.outbox, console=False)
    last = run_batch(load_settings(demo.root, year=YEAR - 1))
    typer.echo(
        f"  已处理 {len(last.files)} 个文件，已计入 {sum(1 for u in last.units if u.status in COUNTED)} 个单位。"
    )

    fill_inbox(demo)
    typer.echo(f"\n第二步：收件文件夹中放入了 {YEAR} 年度的以下文件（以及应看到的结果）：")
    for case in demo.cases:
        typer.echo(f"  {case.file}　→　{case.expect}")
    typer.echo("\n第三步：运行 nianbao run（每个文件一行）：")
    setup_logging(demo.outbox)
    result = run_batch(load_settings(demo.root))
    typer.echo("\n" + render_run(result))
    spec = get_spec(result.edition)
    typer.echo("\n" + render_status(result.year, status_rows(result.units, spec), [], spec=spec))
    typer.echo(
        f"\n接下来可以：打开汇总表和“反馈”文件夹中的反馈工作簿；在 {demo.root} 中运行 nianbao status 查看报送情况；"
        "把改正后的文件放回 inbox 再运行 nianbao run。"
    )
