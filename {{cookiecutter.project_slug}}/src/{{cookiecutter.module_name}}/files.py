"""Reading and writing files; a crash never leaves half a file behind."""

import hashlib
import json
import os
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import ProjectError


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; move it onto `target` only on success.

    The temporary file is created with the mode a plain `open()` gives (0666 less the
    umask), so that another user, such as the serving image's, can read the result. It
    is flushed to disk before the rename, and the rename is atomic: readers see the old
    file or the new one, never a partial write, even after a power cut.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        yield temporary
        with temporary.open("rb+") as written:
            os.fsync(written.fileno())
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def require(path: Path) -> Path:
    """Return `path` if it is a file, else raise a ProjectError saying what to run."""
    if not path.is_file():
        raise ProjectError(
            f"{path} does not exist: run the earlier pipeline steps first"
            " (`make pipeline`)"
        )
    return path


def digest(path: Path) -> str:
    """Return the SHA-256 of a file's content, in hexadecimal."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_json(data: Mapping[str, Any], path: Path) -> None:
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
