"""Benchmark incremental runs: a full run against an unchanged rerun.

Run with `make benchmark`. Both runs go through the runner in this process, in a
temporary folder, so that only the pipeline's own work is measured (not the start-up of
Python and its libraries). Goal: the unchanged rerun takes under 10% of the full run.
"""

import tempfile
import time
from pathlib import Path

from {{ cookiecutter.module_name }}.params import load_params
from {{ cookiecutter.module_name }}.pipeline import runner
from {{ cookiecutter.module_name }}.settings import Settings


def timed(settings: Settings, force: bool) -> float:
    params = load_params(settings.params_file)
    started = time.perf_counter()
    for _ in runner.run(settings, params, force=force):
        pass
    return time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        settings = Settings(
            data_dir=root / "data",
            models_dir=root / "models",
            reports_dir=root / "reports",
            lock_file=root / "pipeline.lock",
        )
        timed(settings, force=True)  # warm up: imports, caches
        full = min(timed(settings, force=True) for _ in range(3))
        rerun = min(timed(settings, force=False) for _ in range(3))
    print(f"full run              {full * 1000:10.1f} ms")
    print(f"unchanged rerun       {rerun * 1000:10.1f} ms")
    print(f"rerun / full          {rerun / full:10.1%}   (goal < 10%)")


if __name__ == "__main__":
    main()
