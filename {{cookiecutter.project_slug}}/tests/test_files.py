"""Atomic writes: the old file or the new one, never half of one, readable by others."""

import os
import stat
from pathlib import Path

import pytest

from {{ cookiecutter.module_name }}.errors import ProjectError
from {{ cookiecutter.module_name }}.files import (
    atomic_path,
    digest,
    require,
    write_json,
)


def test_atomic_path_replaces_the_target_on_success(tmp_path: Path) -> None:
    target = tmp_path / "out" / "metrics.json"

    write_json({"accuracy": 1.0}, target)

    assert target.read_text() == '{\n  "accuracy": 1.0\n}\n'
    assert [p.name for p in target.parent.iterdir()] == ["metrics.json"]


def test_a_crash_mid_write_keeps_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "model.joblib"
    target.write_text("old model")

    with pytest.raises(RuntimeError), atomic_path(target) as temporary:
        temporary.write_text("half a new mod")
        raise RuntimeError("killed")

    assert target.read_text() == "old model"
    assert list(tmp_path.iterdir()) == [target]


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600)])
def test_outputs_get_the_mode_open_would_give(
    tmp_path: Path, umask: int, mode: int
) -> None:
    # Another user (the serving image's) must be able to read what the pipeline wrote.
    previous = os.umask(umask)
    try:
        write_json({}, tmp_path / "metrics.json")
    finally:
        os.umask(previous)

    assert stat.S_IMODE((tmp_path / "metrics.json").stat().st_mode) == mode


def test_require_says_what_to_run(tmp_path: Path) -> None:
    missing = tmp_path / "model.joblib"

    with pytest.raises(ProjectError, match="model.joblib does not exist: run the"):
        require(missing)
    missing.write_text("x")
    assert require(missing) == missing
    assert len(digest(missing)) == 64
