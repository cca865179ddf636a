"""`score`: a Parquet file's predictions, one row group at a time, split into shards."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from derived import labelled_frame, outside_range
from typer.testing import CliRunner

import {{ cookiecutter.module_name }} as package
from {{ cookiecutter.module_name }}.cli import app
from {{ cookiecutter.module_name }}.dataset import CLASSES, FEATURES
from {{ cookiecutter.module_name }}.predictor import Predictor
from {{ cookiecutter.module_name }}.scoring import (
    LABEL,
    Shard,
    probability_column,
)
from {{ cookiecutter.module_name }}.settings import Settings

GROUP_ROWS = 25


def parquet_file(path: Path, groups: int = 6) -> pa.Table:
    """Write rows made from the data module's ranges, with an id column the model does
    not use, in row groups of GROUP_ROWS; return the table written."""
    rows = labelled_frame(rows_per_class=groups * GROUP_ROWS // len(CLASSES) + 1)
    rows = rows[list(FEATURES)].head(groups * GROUP_ROWS)
    rows.insert(0, "id", [f"row-{number}" for number in range(len(rows))])
    table = pa.Table.from_pandas(rows, preserve_index=False)
    pq.write_table(table, path, row_group_size=GROUP_ROWS)
    return table


def test_the_output_is_the_input_with_the_label_and_each_probability(
    trained_env: Settings, tmp_path: Path
) -> None:
    source = parquet_file(tmp_path / "in.parquet")

    result = CliRunner().invoke(
        app, ["score", str(tmp_path / "in.parquet"), str(tmp_path / "out.parquet")]
    )

    assert result.exit_code == 0, result.output
    scored = pq.read_table(tmp_path / "out.parquet")
    assert scored.column_names == [
        *source.column_names,
        LABEL,
        *map(probability_column, CLASSES),
    ]
    assert scored.select(source.column_names).equals(source)
    predictor = Predictor.load(trained_env)
    labels, probabilities = predictor.answer(
        source.select(list(predictor.features)).to_pandas().to_numpy(dtype=float)
    )
    assert scored.column(LABEL).to_pylist() == labels
    for number, label in enumerate(predictor.classes):
        column = scored.column(probability_column(label)).to_numpy()
        assert np.array_equal(column, probabilities[:, number])
    rows, groups = len(source), pq.ParquetFile(tmp_path / "in.parquet").num_row_groups
    assert f"({rows} rows, row groups 0-{groups - 1} of {groups}," in result.output


def test_shards_run_as_processes_give_the_unsharded_output(
    trained_env: Settings, tmp_path: Path
) -> None:
    parquet_file(tmp_path / "in.parquet", groups=7)  # shards of 2, 2 and 3 groups
    whole = CliRunner().invoke(
        app, ["score", str(tmp_path / "in.parquet"), str(tmp_path / "all.parquet")]
    )
    assert whole.exit_code == 0, whole.output

    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                package.__name__,
                "score",
                str(tmp_path / "in.parquet"),
                str(tmp_path / f"part-{index}.parquet"),
                f"--shard={index}/3",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for index in range(3)
    ]

    for process in processes:
        output, _ = process.communicate(timeout=120)
        assert process.returncode == 0, output.decode()
    parts = [pq.read_table(tmp_path / f"part-{i}.parquet") for i in range(3)]
    assert [part.num_rows for part in parts] == [2 * GROUP_ROWS] * 2 + [3 * GROUP_ROWS]
    assert pa.concat_tables(parts).equals(pq.read_table(tmp_path / "all.parquet"))


@pytest.mark.parametrize("total", range(0, 12))
@pytest.mark.parametrize("count", range(1, 6))
def test_shards_take_every_row_group_once_in_order(total: int, count: int) -> None:
    taken = [
        group for index in range(count) for group in Shard(index, count).groups(total)
    ]
    sizes = [len(Shard(index, count).groups(total)) for index in range(count)]

    assert taken == list(range(total))
    assert max(sizes) - min(sizes) <= 1


@pytest.mark.parametrize("shard", ["3/3", "1", "a/2", "-1/2", "1/0", ""])
def test_a_shard_that_is_not_i_of_n_is_a_one_line_error(
    trained_env: Settings, tmp_path: Path, shard: str
) -> None:
    parquet_file(tmp_path / "in.parquet")

    result = CliRunner().invoke(
        app, ["score", str(tmp_path / "in.parquet"), "out.parquet", f"--shard={shard}"]
    )

    assert result.exit_code == 1
    assert result.output == (
        f"error: --shard: {shard!r} is not I/N with 0 <= I < N (for example 0/4)\n"
    )


@pytest.mark.parametrize("problem", ["out of range", "empty", "missing"])
def test_a_bad_row_group_is_a_one_line_error_and_leaves_no_file(
    trained_env: Settings, tmp_path: Path, problem: str
) -> None:
    table = parquet_file(tmp_path / "good.parquet").to_pandas()
    feature, value = (
        outside_range() if problem == "out of range" else (FEATURES[0], None)
    )
    if problem == "missing":
        table = table.drop(columns=feature)
    else:
        table.loc[3 * GROUP_ROWS + 1, feature] = value  # in the fourth row group
    pq.write_table(
        pa.Table.from_pandas(table, preserve_index=False),
        tmp_path / "bad.parquet",
        row_group_size=GROUP_ROWS,
    )

    result = CliRunner().invoke(
        app, ["score", str(tmp_path / "bad.parquet"), str(tmp_path / "out.parquet")]
    )

    assert result.exit_code == 1
    assert result.output.startswith(f"error: column {feature!r}: ")
    assert result.output.count("\n") == 1
    if problem != "missing":
        assert result.output.endswith(f"(1 of {GROUP_ROWS} rows in row group 3)\n")
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "bad.parquet",
        "good.parquet",
    ]


def test_a_file_that_is_not_parquet_is_a_one_line_error(
    trained_env: Settings, tmp_path: Path
) -> None:
    (tmp_path / "in.parquet").write_text("id,value\n1,2\n")

    result = CliRunner().invoke(
        app, ["score", str(tmp_path / "in.parquet"), str(tmp_path / "out.parquet")]
    )

    assert result.exit_code == 1
    assert result.output.startswith(f"error: {tmp_path / 'in.parquet'}: not a readable")
    assert not (tmp_path / "out.parquet").exists()
