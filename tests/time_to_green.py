"""Print how long a generated project takes from `cookiecutter` to a green `make check`.

`make time-to-green` bakes each named combination given (default: `defaults`, and
`pip-apache`, the slowest to install) into a temporary folder with the real cookiecutter
CLI, then times `make install` and each part of `make check` as a user runs them.
`COLD=1` gives the installers an empty cache, as on a fresh machine.
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from baking import COMBINATIONS, cookiecutter, tool_env

STEPS = ["install", "format-check", "lint", "typecheck", "test"]


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"time-to-green: {' '.join(command)} failed\n{done.stdout[-2000:]}")
    return time.perf_counter() - start


def time_to_green(name: str, cold: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        env = tool_env()
        if cold:
            env["UV_CACHE_DIR"] = str(root / "uv-cache")
            env["PIP_CACHE_DIR"] = str(root / "pip-cache")
        start = time.perf_counter()
        baked = cookiecutter(root, **COMBINATIONS[name])
        if baked.returncode != 0:
            sys.exit(f"time-to-green: {name} did not bake\n{baked.stderr}")
        figures = {"bake": time.perf_counter() - start}
        [project] = [path for path in root.iterdir() if (path / "Makefile").is_file()]
        for step in STEPS:
            figures[step] = timed(["make", step], project, env)
        return figures


def main(names: list[str], cold: bool) -> None:
    cache = "an empty installer cache" if cold else "the installers' cache as it is"
    print(f"bake -> make install -> make check, with {cache} (seconds)")
    columns = "".join(f"{step:>13}" for step in ["bake", *STEPS])
    print(f"{'combination':20}{columns}{'total':>9}")
    for name in names:
        figures = time_to_green(name, cold)
        row = "".join(f"{seconds:13.1f}" for seconds in figures.values())
        print(f"{name:20}{row}{sum(figures.values()):9.1f}", flush=True)


if __name__ == "__main__":
    chosen = sys.argv[1:] or ["defaults", "pip-apache"]
    unknown = set(chosen) - set(COMBINATIONS)
    if unknown:
        sys.exit(f"time-to-green: unknown combination(s) {', '.join(sorted(unknown))}")
    main(chosen, cold=bool(os.environ.get("COLD")))
