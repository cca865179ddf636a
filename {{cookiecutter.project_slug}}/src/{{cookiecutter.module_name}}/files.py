"""Reading and writing pipeline files; a crash never leaves half a file behind."""

import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import ProjectError


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; move it onto `target` only on success.

    The rename is atomic on POSIX and Windows, so readers see the old file or the new
    one, never a partial write.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def require(path: Path) -> Path:
    """Return `path` if it exists, else raise a ProjectError telling what to run."""
    if not path.is_file():
        raise ProjectError(
            f"{path} does not exist: run the earlier pipeline steps first"
            " (`make pipeline`)"
        )
    return path


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


def write_json(data: dict[str, Any], path: Path) -> None:
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
