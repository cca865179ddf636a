"""Benchmark the API against a bare FastAPI endpoint served the same way.

Run with `make benchmark` after `make pipeline`. It starts redis-server (unless
REDIS_URL is set), then serves, one after the other and twice each, the project's API
with the Redis store and a bare endpoint that validates the same request and returns a
fixed answer. It prints requests/s for single-row /predict, rows/s for /predict/batch,
and the two ratios with their goals. Figures from one run compare with each other only.

Single rows are sent by 16 concurrent clients (many small callers); batches by 4 (a few
batch jobs, each sending large bodies).
"""

import asyncio
import functools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2

from {{ cookiecutter.module_name }}.errors import ProjectError
from {{ cookiecutter.module_name }}.model import load as load_model
from {{ cookiecutter.module_name }}.serving.schemas import EXAMPLE
from {{ cookiecutter.module_name }}.settings import load_settings

ROW = EXAMPLE
SINGLE_REQUESTS = 3000
BATCH_ROWS = 1000
BATCH_REQUESTS = 30
SINGLE_CLIENTS = 16
BATCH_CLIENTS = 4
HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_up(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx2.get(url, timeout=1)
            return
        except httpx2.TransportError:
            time.sleep(0.1)
    raise SystemExit(f"benchmark: nothing answered at {url}")


def wait_for_redis(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"benchmark: redis-server did not start on port {port}")


@contextmanager
def redis_url() -> Iterator[str]:
    given = os.environ.get("REDIS_URL")
    if given:
        yield given
        return
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("benchmark: set REDIS_URL or install redis-server")
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        server = subprocess.Popen(
            [binary, "--port", str(port), "--save", "", "--dir", folder],
            stdout=subprocess.DEVNULL,
        )
        try:
            wait_for_redis(port)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            server.terminate()
            server.wait()


@contextmanager
def uvicorn(app: str, env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", app, "--port", str(port)]
        + ["--log-level", "warning", "--no-access-log"],
        env={**os.environ, **env},
        cwd=HERE.parent,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/docs")
        yield base
    finally:
        server.terminate()
        server.wait()


def rate(
    path: str, body: object, requests: int, clients: int
) -> Callable[[str], Coroutine[None, None, float]]:
    """Measures requests/s for `requests` POSTs from `clients` concurrent clients."""
    return functools.partial(measure, path, body, requests, clients)


async def measure(
    path: str, body: object, requests: int, clients: int, base: str
) -> float:
    limits = httpx2.Limits(max_connections=clients)
    async with httpx2.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        remaining = iter(range(requests))

        async def worker() -> None:
            for _ in remaining:
                response = await client.post(path, json=body)
                response.raise_for_status()

        await warm_up(client, path, body)
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        return requests / (time.perf_counter() - started)


async def warm_up(client: httpx2.AsyncClient, path: str, body: object) -> None:
    for _ in range(20):
        (await client.post(path, json=body)).raise_for_status()


def main() -> None:
    try:
        load_model(load_settings().model_file)
    except ProjectError as error:
        raise SystemExit(f"benchmark: {error}") from None
    results: dict[str, list[float]] = {"bare": [], "single": [], "batch": []}
    batch = {"rows": [ROW] * BATCH_ROWS}
    app = "{{ cookiecutter.module_name }}.serving.app:create_app"
    single_rate = rate("/predict", ROW, SINGLE_REQUESTS, SINGLE_CLIENTS)
    batch_rate = rate("/predict/batch", batch, BATCH_REQUESTS, BATCH_CLIENTS)
    with redis_url() as url:
        for _ in range(2):
            with uvicorn("benchmarks.bare:create_app", {}) as base:
                results["bare"].append(asyncio.run(single_rate(base)))
            with uvicorn(app, {"REDIS_URL": url}) as base:
                results["single"].append(asyncio.run(single_rate(base)))
                results["batch"].append(asyncio.run(batch_rate(base)) * BATCH_ROWS)
    bare, single, rows = (max(results[name]) for name in ("bare", "single", "batch"))
    print(f"bare endpoint         {bare:10.0f} requests/s")
    print(f"/predict (Redis)      {single:10.0f} requests/s")
    print(f"/predict/batch        {rows:10.0f} rows/s ({BATCH_ROWS} rows a request)")
    print(f"single / bare         {single / bare:10.2f}   (goal >= 0.6)")
    print(f"batch / single rows   {rows / single:10.1f}   (goal >= 50)")


if __name__ == "__main__":
    main()
