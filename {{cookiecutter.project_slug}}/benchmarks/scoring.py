"""Batch scoring (`score`): rows per second for one process and for two shards at once,
and peak memory for a file of one row group against one ten times larger.

Run with `make benchmark` after `make pipeline`. Each run is its own process, as in a
Kubernetes Indexed Job; the time is the scoring's, from the first row group read to
the file written, without the start-up that every process pays once.
`BENCHMARK_SCORE_ROWS` sets the rows of a row group (100,000).
"""

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from {{ cookiecutter.module_name }}.dataset import EXAMPLE
from {{ cookiecutter.module_name }}.predictor import Predictor
from {{ cookiecutter.module_name }}.scoring import Shard, score
from {{ cookiecutter.module_name }}.settings import load_settings

GROUP_ROWS = int(os.environ.get("BENCHMARK_SCORE_ROWS", "100000"))
LARGE = 10  # row groups of the large file


def write_file(path: Path, groups: int) -> None:
    """The documented example row, `groups` row groups of it."""
    rows = pd.DataFrame([EXAMPLE] * (groups * GROUP_ROWS))
    table = pa.Table.from_pandas(rows, preserve_index=False)
    pq.write_table(table, path, row_group_size=GROUP_ROWS)


def child(source: str, target: str, shard: str) -> None:
    """Score in this process; print when the scoring started and ended, and the peak
    memory of the process, as JSON."""
    predictor = Predictor.load(load_settings())
    start = time.time()
    summary = score(predictor, source, target, Shard.parse(shard))
    end = time.time()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"start": start, "end": end, "peak_mb": peak_kib / 1024}))
    print(summary, file=sys.stderr)


def run(*jobs: tuple[Path, Path, str]) -> list[dict[str, float]]:
    """Run each job in its own process, all at once; return what each printed."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "benchmarks.scoring", str(a), str(b), shard],
            stdout=subprocess.PIPE,
        )
        for a, b, shard in jobs
    ]
    found = []
    for process in processes:
        output, _ = process.communicate()
        if process.returncode != 0:
            raise SystemExit(f"a scoring process failed ({process.returncode})")
        found.append(json.loads(output))
    return found


def rate(rows: int, runs: list[dict[str, float]]) -> tuple[float, float]:
    seconds = max(r["end"] for r in runs) - min(r["start"] for r in runs)
    return seconds, rows / seconds


def main() -> None:
    runtime = Predictor.load(load_settings()).runtime.name
    with tempfile.TemporaryDirectory() as folder:
        small, large = Path(folder) / "small.parquet", Path(folder) / "large.parquet"
        write_file(small, 1)
        write_file(large, LARGE)
        out = Path(folder) / "out"
        rows = LARGE * GROUP_ROWS
        [alone] = run((large, out.with_suffix(".all"), "0/1"))
        shards = run(*((large, out.with_suffix(f".{i}"), f"{i}/2") for i in range(2)))
        [one_group] = run((small, out.with_suffix(".small"), "0/1"))
    one_seconds, one_rate = rate(rows, [alone])
    two_seconds, two_rate = rate(rows, shards)
    print(
        f"batch scoring (score; {LARGE} row groups of {GROUP_ROWS} rows;"
        f" model runtime: {runtime})"
    )
    print(f"one process         {one_seconds:6.2f} s {one_rate:12,.0f} rows/s")
    print(
        f"two shards at once  {two_seconds:6.2f} s {two_rate:12,.0f} rows/s"
        f"  ({two_rate / one_rate:.2f}x)"
    )
    print(
        f"peak memory, one process: {one_group['peak_mb']:.0f} MB for 1 row group,"
        f" {alone['peak_mb']:.0f} MB for {LARGE}"
    )


if __name__ == "__main__":
    if len(sys.argv) == 4:
        child(*sys.argv[1:])
    else:
        main()
