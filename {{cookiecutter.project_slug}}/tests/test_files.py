from pathlib import Path

import pytest

from {{ cookiecutter.module_name }}.files import atomic_path, write_json


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
