"""Print how long a generated project takes from `cookiecutter` to a green `make check`.

`make time-to-green` bakes each named combination given (default: `defaults`, and
`pip-apache`, the slowest to install) into a temporary folder with the real cookiecutter
CLI, then times `make install` and each part of `make check` as a user runs them. Each step
gets two figures: its wall time, and its CPU time (user and system, of the processes it
started and waited for). The CPU time divided by the cores is the least wall time that
any schedule of the same work could take on this machine.
`COLD=1` gives the installers an empty cache, as on a fresh machine.
"""

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import NamedTuple

from baking import COMBINATIONS, cookiecutter, cpu_seconds, tool_env, usable_cores

STEPS = ["install", "format-check", "lint", "typecheck", "test"]


class Spent(NamedTuple):
    wall: float
    cpu: float


def timed(what: str, run: Callable[[], subprocess.CompletedProcess[str]]) -> Spent:
    start, cpu = time.perf_counter(), cpu_seconds()
    done = run()
    if done.returncode != 0:
        sys.exit(f"time-to-green: {what} failed\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return Spent(time.perf_counter() - start, cpu_seconds() - cpu)


def time_to_green(name: str, cold: bool) -> dict[str, Spent]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        env = tool_env()
        if cold:
            env["UV_CACHE_DIR"] = str(root / "uv-cache")
            env["PIP_CACHE_DIR"] = str(root / "pip-cache")
        figures = {
            "bake": timed(f"baking {name}", partial(cookiecutter, root, **COMBINATIONS[name]))
        }
        [project] = [path for path in root.iterdir() if (path / "Makefile").is_file()]
        for step in STEPS:
            make = partial(
                subprocess.run,
                ["make", step],
                cwd=project,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            figures[step] = timed(f"make {step}", make)
        return figures


def main(names: list[str], cold: bool) -> None:
    cache = "an empty installer cache" if cold else "the installers' cache as it is"
    cores = usable_cores()
    print(f"bake -> make install -> make check, with {cache} (seconds)")
    columns = "".join(f"{step:>13}" for step in ["bake", *STEPS])
    print(f"{'combination':26}{columns}{'total':>9}")
    for name in names:
        figures = time_to_green(name, cold)
        for kind in Spent._fields:
            spent = [getattr(figure, kind) for figure in figures.values()]
            row = "".join(f"{seconds:13.1f}" for seconds in spent)
            print(f"{name + ', ' + kind:26}{row}{sum(spent):9.1f}", flush=True)
        cpu = sum(figure.cpu for figure in figures.values())
        floor = int(cpu / cores)
        print(f"{'':26}on {cores} cores, no schedule of this work ends in less than {floor}")


if __name__ == "__main__":
    chosen = sys.argv[1:] or ["defaults", "pip-apache"]
    unknown = set(chosen) - set(COMBINATIONS)
    if unknown:
        sys.exit(f"time-to-green: unknown combination(s) {', '.join(sorted(unknown))}")
    main(chosen, cold=bool(os.environ.get("COLD")))
