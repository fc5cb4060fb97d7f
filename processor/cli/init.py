"""`nianbao init`: create the inbox and outbox, a commented nianbao.toml and an example roster."""

from __future__ import annotations

from pathlib import Path

import typer

from ..atomic import write_text_atomic
from ..config import CONFIG_FILE, default_year, example_toml
from ..roster import EXAMPLE_ROWS, roster_csv
from . import app

ROSTER_FILE = "名册.csv"


def init_folder(folder: Path, year: int | None = None) -> list[tuple[Path, bool]]:
    """Create what a coordinator needs in `folder`; never overwrites. Returns (path, created)."""
    folder.mkdir(parents=True, exist_ok=True)
    done: list[tuple[Path, bool]] = []
    for name in ("inbox", "outbox"):
        path = folder / name
        done.append((path, not path.exists()))
        path.mkdir(exist_ok=True)
    for name, text in ((CONFIG_FILE, example_toml(year)), (ROSTER_FILE, roster_csv(EXAMPLE_ROWS))):
        path = folder / name
        if path.exists():
            done.append((path, False))
        else:
            write_text_atomic(path, text)
            done.append((path, True))
    return done


@app.command("init")
def init_command(
    folder: Path = typer.Argument(Path("."), help="要初始化的工作文件夹（默认为当前文件夹）。"),
    year: int | None = typer.Option(None, "--year", help=f"写入配置的汇总年度（默认 {default_year()}）。"),
) -> None:
    """在工作文件夹中建立收件文件夹、输出文件夹、带说明的配置文件 nianbao.toml 和示例单位名册。

    已存在的文件不会被覆盖。
    """
    for path, created in init_folder(folder.resolve(), year):
        typer.echo(f"{'已创建' if created else '已存在，未改动'}：{path}")
    typer.echo(
        "下一步：1. 编辑 名册.csv，列出应报送的全部单位（可用 Excel 打开）；"
        "2. 运行 nianbao templates 为每个单位生成模板并下发；"
        "3. 各单位填好的文件放入 inbox 后运行 nianbao run。"
    )
