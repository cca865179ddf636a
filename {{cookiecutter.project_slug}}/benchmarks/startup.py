"""Time the commands as a user meets them: whole processes, start-up included.

Run with `make benchmark` after `make pipeline`. Every command runs in a scratch folder
with its own copy of the pipeline's files and none of the shell's settings, so that the
project's files and experiment store are left alone. hyperfine (apt-get install
hyperfine) times the commands when it is installed, with a warm-up run and the median of
the others; without it, each command runs the same number of times under a timer. The
server is timed from its start until /health answers.
"""

import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from port_for import get_port

from {{ cookiecutter.module_name }} import DISTRIBUTION, ENV_PREFIX
from {{ cookiecutter.module_name }}.dataset import EXAMPLE
from {{ cookiecutter.module_name }}.settings import Settings

RUNS = int(os.environ.get("BENCHMARK_RUNS", "5"))
PROJECT = Path(__file__).resolve().parents[1]
COMMAND = str(Path(sys.executable).parent / DISTRIBUTION)


def environment(folder: Path) -> dict[str, str]:
    """The shell's variables without any setting, and the project's parameters."""
    env = {k: v for k, v in os.environ.items() if k not in Settings.variables()}
    return env | {f"{ENV_PREFIX}PARAMS_FILE": str(PROJECT / "configs" / "params.yaml")}


def median_seconds(command: list[str], folder: Path, runs: int = RUNS) -> float:
    """The median wall time of `command`, run in `folder`, after one warm-up run."""
    env = environment(folder)
    hyperfine = shutil.which("hyperfine")
    if hyperfine is not None:
        with tempfile.NamedTemporaryFile(suffix=".json") as report:
            subprocess.run(
                [hyperfine, "--warmup", "1", "--runs", str(runs), "--style", "none"]
                + ["--export-json", report.name, shlex.join(command)],
                cwd=folder,
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            median: float = json.load(report)["results"][0]["median"]
            return median
    times = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        subprocess.run(command, cwd=folder, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times[1:])


def serve_seconds(folder: Path, runs: int = RUNS) -> float:
    """The median time from starting `serve` until /health answers."""
    times = []
    for _ in range(runs + 1):
        port = get_port(None)
        started = time.perf_counter()
        server = subprocess.Popen(
            [COMMAND, "serve", "--port", str(port)],
            cwd=folder,
            env=environment(folder),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            while True:
                if server.poll() is not None:
                    raise SystemExit("benchmark: the server stopped before it answered")
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                    break
                except (urllib.error.URLError, ConnectionError):
                    time.sleep(0.01)
            times.append(time.perf_counter() - started)
        finally:
            server.terminate()
            server.wait()
    return statistics.median(times[1:])


def main() -> None:
    predict = [COMMAND, "predict", *(f"{k}={v}" for k, v in EXAMPLE.items())]
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        full = median_seconds([COMMAND, "pipeline", "--force"], folder, runs=2)
        unchanged = median_seconds([COMMAND, "pipeline"], folder)
        figures = [
            ("--help", median_seconds([COMMAND, "--help"], folder), "<= 0.5 s"),
            ("pipeline, nothing changed", unchanged, "<= 1.5 s"),
            ("pipeline --force (every step)", full, ""),
            ("predict, one row", median_seconds(predict, folder), "<= 2 s"),
            ("serve, until /health answers", serve_seconds(folder), "<= 2 s"),
        ]
    timer = "hyperfine" if shutil.which("hyperfine") else "a timer"
    print(f"start-up, whole processes (median of {RUNS} runs, {timer}):")
    for name, seconds, goal in figures:
        print(f"{name:<31}{seconds:7.2f} s   {f'(goal {goal})' if goal else ''}")
    print(f"unchanged / full pipeline      {unchanged / full:7.2f}     (goal <= 0.15)")


if __name__ == "__main__":
    main()
