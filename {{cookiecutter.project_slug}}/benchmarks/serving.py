"""Benchmark the API against a bare FastAPI endpoint, with wrk as the client.

Run with `make benchmark` after `make pipeline`; it needs wrk and redis-server
(apt-get install wrk redis-server, or brew install wrk redis). Each server is one
process with one worker: the bare endpoint of benchmarks/bare.py, which validates the
same request and answers at once, under uvicorn alone; and the project's API as the
image runs it, through the `serve` command and the project's settings (access log
included), storing every prediction in a redis-server started for the run. wrk, a C
client on one thread (the server keeps the other core), drives them in turn, bare then
API, BENCHMARK_ROUNDS times (5), after a warm-up, BENCHMARK_SECONDS each (8). Each
figure is the median of those alternating runs: a machine's other work slows some runs,
and alternating spreads it over both servers. After each round the API's /health must
show every prediction written to Redis. It prints requests/s with p50 and p99 latency
for each endpoint, single-row /predict against the bare endpoint, batch rows/s against
single-row requests/s, and a warning when wrk used most of a core (its figures would
then measure the client). Figures of one run compare with each other; absolute figures
depend on the machine.
"""

import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2
from mirakuru import HTTPExecutor
from port_for import get_port
from pytest_redis.executor import RedisExecutor

from {{ cookiecutter.module_name }} import ENV_PREFIX
from {{ cookiecutter.module_name }}.dataset import EXAMPLE
from {{ cookiecutter.module_name }}.errors import ProjectError
from {{ cookiecutter.module_name }}.predictor import Predictor
from {{ cookiecutter.module_name }}.settings import load_settings

SECONDS = round(float(os.environ.get("BENCHMARK_SECONDS", "8")))
ROUNDS = int(os.environ.get("BENCHMARK_ROUNDS", "5"))
SINGLE_CONNECTIONS = 32
BATCH_ROWS = 1000
BATCH_CONNECTIONS = 4
PROJECT = Path(__file__).resolve().parents[1]
PACKAGE = ENV_PREFIX.removesuffix("_").lower()
BARE_FACTORY = "benchmarks.bare:create_app"


@dataclass(frozen=True)
class Run:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    client_cpu: float  # the share of one core that wrk itself used


def needed(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        raise SystemExit(f"benchmark: {tool} is not installed (apt-get install {tool})")
    return found


def free_port() -> int:
    port = get_port(None)
    if port is None:
        raise SystemExit("benchmark: no free port")
    return port


@contextmanager
def redis_server() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        server = RedisExecutor(
            executable=needed("redis-server"),
            databases=1,
            redis_timeout=30,
            loglevel="warning",
            host="127.0.0.1",
            port=free_port(),
            datadir=Path(folder),
        )
        with server:
            yield f"redis://127.0.0.1:{server.port}/0"


@contextmanager
def server(
    command: Callable[[str], list[str]], ready: str, **env: str
) -> Iterator[str]:
    """Run `command(port)` until it stops; its output goes to a temporary file.
    Yields the base URL once GET `ready` answers."""
    port = str(free_port())
    with tempfile.TemporaryFile() as log:
        process = HTTPExecutor(
            command(port),
            f"http://127.0.0.1:{port}{ready}",
            method="GET",
            timeout=120,
            cwd=str(PROJECT),
            envvars={**os.environ, **env},
            stdout=log,
            stderr=log,
        )
        with process:
            yield f"http://127.0.0.1:{port}"


def bare_command(port: str) -> list[str]:
    """The baseline, under uvicorn alone."""
    uvicorn = [sys.executable, "-m", "uvicorn", "--factory", "--port", port]
    return [*uvicorn, "--log-level", "warning", "--no-access-log", BARE_FACTORY]


def api_command(port: str) -> list[str]:
    """The API as the image runs it: `serve`, with the project's settings."""
    return [sys.executable, "-m", PACKAGE, "serve", "--port", port]


def milliseconds(text: str) -> float:
    found = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if found is None:
        raise SystemExit(f"benchmark: cannot read wrk's latency {text!r}")
    return float(found[1]) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[found[2]]


def wrk(url: str, body: object, connections: int, seconds: int) -> Run:
    """POST `body` to `url` for `seconds`; stop at any failed request."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(
            f'wrk.method = "POST"\nwrk.body = {json.dumps(json.dumps(body))}\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
        )
        script.flush()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(
            [needed("wrk"), "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
            + ["-s", script.name, url],
            capture_output=True,
            text=True,
            check=True,
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    output = done.stdout
    if "Non-2xx" in output or "Socket errors" in output:
        raise SystemExit(f"benchmark: failed requests to {url}\n{output}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", output, re.MULTILINE))
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if rate is None or set(latency) != {"50", "99"}:
        raise SystemExit(f"benchmark: cannot read wrk's output\n{output}")
    p50, p99 = milliseconds(latency["50"]), milliseconds(latency["99"])
    return Run(float(rate[1]), p50, p99, cpu / seconds)


def check_stored(base: str) -> None:
    """Stop unless the API wrote every prediction it made to Redis."""
    store = httpx2.get(f"{base}/health", timeout=10).json()["store"]
    unwritten = store["failed_writes"] + store["pending_writes"] + store["dropped"]
    if store["backend"] != "redis" or unwritten:
        raise SystemExit(f"benchmark: not every prediction was stored: {store}")


def median(runs: list[Run]) -> Run:
    """The run with the median requests/s (the lower middle one of an even count)."""
    ordered = sorted(runs, key=lambda run: run.requests_per_second)
    return ordered[(len(ordered) - 1) // 2]


def main() -> None:
    try:
        settings = load_settings()
        predictor = Predictor.load(settings)
    except ProjectError as error:
        raise SystemExit(f"benchmark: {error}") from None
    batch = {"rows": [EXAMPLE] * BATCH_ROWS}
    single_row = (EXAMPLE, SINGLE_CONNECTIONS)
    runs: dict[str, list[Run]] = {"bare": [], "single": [], "batch": []}
    with redis_server() as redis_url:
        for _ in range(ROUNDS):
            with server(bare_command, "/docs") as base:
                wrk(f"{base}/predict", *single_row, 2)  # warm-up
                runs["bare"].append(wrk(f"{base}/predict", *single_row, SECONDS))
            with server(api_command, "/health", REDIS_URL=redis_url) as base:
                wrk(f"{base}/predict", *single_row, 2)
                runs["single"].append(wrk(f"{base}/predict", *single_row, SECONDS))
                many = (batch, BATCH_CONNECTIONS, SECONDS)
                runs["batch"].append(wrk(f"{base}/predict/batch", *many))
                check_stored(base)
    bare, single, batches = (median(runs[name]) for name in ("bare", "single", "batch"))
    rows = batches.requests_per_second * BATCH_ROWS
    runtime = predictor.runtime.name
    if predictor.runtime_reason:
        runtime += f" ({predictor.runtime_reason})"
    print(f"client: wrk, 1 thread, {SINGLE_CONNECTIONS} connections for single rows")
    print(f"        and {BATCH_CONNECTIONS} for batches of {BATCH_ROWS} rows;")
    print(f"        median of {ROUNDS} alternating runs of {SECONDS} s each")
    print("servers: the bare endpoint on one uvicorn worker; the API through `serve`,")
    print(f"        as the image runs it: {settings.workers} worker(s), access log")
    print(f"        {settings.access_log} ({ENV_PREFIX}ACCESS_LOG)")
    print(f"model runtime: {runtime}")
    print("store: every prediction written to Redis (none failed, pending or dropped)")
    for name, run in [
        ("bare endpoint", bare),
        ("/predict, Redis", single),
        ("/predict/batch", batches),
    ]:
        print(
            f"{name:<20}{run.requests_per_second:10.0f} requests/s"
            f"   p50 {run.p50_ms:6.2f} ms   p99 {run.p99_ms:6.2f} ms"
        )
    ratio = single.requests_per_second / bare.requests_per_second
    print(f"batch rows          {rows:10.0f} rows/s")
    print(f"single / bare       {ratio:10.2f}   (goal >= 0.6)")
    print(
        f"batch / single rows {rows / single.requests_per_second:10.1f}   (goal >= 50)"
    )
    busy = max(run.client_cpu for run in (bare, single, batches))
    if busy > 0.9:
        print(f"warning: wrk used {busy:.0%} of a core; the client may be the limit")


if __name__ == "__main__":
    main()
