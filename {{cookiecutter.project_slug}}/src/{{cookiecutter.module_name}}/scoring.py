"""`score`: predictions for a whole Parquet file, in bounded memory.

It reads one row group at a time, checks it against the data module as ingest does,
predicts it with the serving runtime (ONNX Runtime when the export passed its parity
check), and writes the input columns, the label and one `probability_<class>` column
per class. Memory holds one row group, whatever the file's size.

`--shard I/N` scores the I-th of N contiguous runs of row groups: N processes (the pods
of a Kubernetes Indexed Job, deploy/kubernetes/jobs/score.yaml) split one file, and
their outputs, read in shard order, are the output of one unsharded run. Paths are
local, or `s3://bucket/key` through pyarrow's S3 settings (the AWS_* variables, with
AWS_ENDPOINT_URL for S3-compatible storage).
"""

import contextlib
import secrets
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import typer
from pyarrow import fs

from .checks import check_features
from .errors import ProjectError
from .files import atomic_path
from .predictor import Predictor

LABEL = "label"


@dataclass(frozen=True)
class Shard:
    """The `index`-th (from 0) of `count` parts of a file's row groups."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> "Shard":
        index, _, count = text.partition("/")
        if not (index.isdigit() and count.isdigit() and int(index) < int(count)):
            raise ProjectError(
                f"--shard: {text!r} is not I/N with 0 <= I < N (for example 0/4)"
            )
        return cls(int(index), int(count))

    def groups(self, total: int) -> range:
        """This shard's row groups: contiguous, and as many as the others, give or
        take one."""
        return range(
            total * self.index // self.count, total * (self.index + 1) // self.count
        )


def probability_column(label: str) -> str:
    return f"probability_{label}"


def filesystem(uri: str) -> tuple[fs.FileSystem, str]:
    """The file system of a local path or a URI (s3://...), and the path in it."""
    if "://" in uri:
        found, path = fs.FileSystem.from_uri(uri)
        return found, path
    return fs.LocalFileSystem(), str(Path(uri).resolve())


@contextlib.contextmanager
def output(uri: str) -> Iterator[Any]:
    """A writable file for `uri` that appears whole or not at all: written under a
    temporary name, then renamed (a local file) or copied (an S3 object, by S3 itself:
    up to 5 GB, the limit of one copy) into place; deleted if anything fails."""
    if "://" not in uri:
        with atomic_path(Path(uri)) as temporary, temporary.open("wb") as file:
            yield file
        return
    found, path = filesystem(uri)
    staging = f"{path}.{secrets.token_hex(6)}.tmp"
    try:
        with found.open_output_stream(staging) as stream:
            yield stream
        found.move(staging, path)
    finally:
        with contextlib.suppress(FileNotFoundError):  # moved, or never written
            found.delete_file(staging)


def score(predictor: Predictor, source: str, target: str, shard: Shard) -> str:
    """Write the predictions of `source`'s rows (this shard's) to `target`; return a
    one-line summary."""
    found, path = filesystem(source)
    try:
        parquet = pq.ParquetFile(found.open_input_file(path))
    except (OSError, pa.ArrowInvalid) as error:
        raise ProjectError(f"{source}: not a readable Parquet file ({error})") from None
    groups = shard.groups(parquet.num_row_groups)
    columns = [LABEL, *map(probability_column, predictor.classes)]
    schema = parquet.schema_arrow
    schema = schema.append(pa.field(LABEL, pa.string()))
    for name in columns[1:]:
        schema = schema.append(pa.field(name, pa.float64()))
    rows = 0
    total = sum(parquet.metadata.row_group(group).num_rows for group in groups)
    with (
        output(target) as file,
        pq.ParquetWriter(file, schema) as writer,
        typer.progressbar(
            length=total,
            label=f"scoring {total} rows",
            file=sys.stderr,
            hidden=not sys.stderr.isatty(),  # a bar for people, not for logs
        ) as progress,
    ):
        for group in groups:
            table = parquet.read_row_group(group)
            frame = table.to_pandas()
            check_features(frame, empty_cells=False, where=f"row group {group}")
            matrix = frame[list(predictor.features)].to_numpy(dtype=float)
            labels, probabilities = predictor.answer(matrix)
            table = table.append_column(LABEL, pa.array(labels, pa.string()))
            for number, name in enumerate(columns[1:]):
                column = pa.array(probabilities[:, number], pa.float64())
                table = table.append_column(name, column)
            writer.write_table(table)
            rows += table.num_rows
            progress.update(table.num_rows)
    part = f"row groups {groups.start}-{groups.stop - 1}" if groups else "no row group"
    return (
        f"score: wrote {target} ({rows} rows, {part} of {parquet.num_row_groups},"
        f" {predictor.runtime.name})"
    )
