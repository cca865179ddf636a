"""The CSV tables that steps hand to each other."""

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..errors import ProjectError
from ..files import atomic_path, require


def read_table(path: Path, columns: Sequence[str]) -> pd.DataFrame:
    """Read a CSV file and check that it has the expected columns."""
    frame = pd.read_csv(require(path))
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ProjectError(f"{path}: missing column(s) {', '.join(missing)}")
    return frame


def write_table(frame: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as temporary:
        frame.to_csv(temporary, index=False)
