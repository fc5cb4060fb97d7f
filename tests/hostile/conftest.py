"""One generated corpus of hostile files for the whole package (LibreOffice runs once)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.generate import Case, make_cases


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Case]]:
    """Every case of generate.py, written once into a folder: (folder, cases)."""
    folder = tmp_path_factory.mktemp("hostile") / "corpus"
    return folder, make_cases(folder)
