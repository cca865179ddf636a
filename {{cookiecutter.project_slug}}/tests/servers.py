"""Real servers for the tests: a private redis-server, a Redis Cluster, the API in its
own process, and Prometheus.

All are mirakuru executors (pytest-redis's for Redis), which the benchmark uses too:
`start()`, `stop()` (SIGTERM, then wait), and `with` to stop them whatever happens.
"""

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, Any

import orjson
import pytest
import redis
from mirakuru import HTTPExecutor, TCPExecutor
from mirakuru.exceptions import AlreadyRunning, ProcessExitedWithError
from port_for import get_port
from pytest_redis.executor import RedisExecutor

import {{ cookiecutter.module_name }} as package
from {{ cookiecutter.module_name }} import DISTRIBUTION, ENV_PREFIX
from {{ cookiecutter.module_name }}.settings import Settings
from {{ cookiecutter.module_name }}.store.groups import group_id_of
from {{ cookiecutter.module_name }}.store.keys import RECORD

# The settings that name files and folders: the pipeline's, and so the server's.
FILE_SETTINGS = ("data_dir", "models_dir", "reports_dir", "params_file", "lock_file")


def installed(tool: str, package: str) -> str:
    """`tool`'s path; without it, the test skips locally and fails under CI, which
    installs it (.github/actions/setup)."""
    found = shutil.which(tool)
    if found is None:
        reason = f"{tool} is not installed (apt-get install {package})"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}, and CI must run the tests that need it")
        pytest.skip(reason)
    return found


def free_port() -> int:
    port = get_port(None)
    assert port is not None
    return port


def redis_server(folder: Path) -> RedisExecutor:
    """A redis-server on a free loopback port, its files in `folder`; not started."""
    return RedisExecutor(
        executable=installed("redis-server", "redis-server"),
        databases=1,
        redis_timeout=30,
        loglevel="warning",
        host="127.0.0.1",
        port=free_port(),
        datadir=folder,
    )


def distinct_free_ports(count: int) -> list[int]:
    """`count` different free ports: port-for may hand out the same one twice."""
    ports: set[int] = set()
    while len(ports) < count:
        ports.add(free_port())
    return sorted(ports)


def cluster_nodes(folder: Path, nodes: int) -> tuple[ExitStack, list[TCPExecutor]]:
    """Start `nodes` cluster-enabled redis-servers; the ExitStack stops them. A port is
    free when chosen but may be taken before its node binds it (by a server of another
    test worker): when a node finds its port taken or exits at start-up, every node is
    started again on new ports, once; a second failure shows that node's log."""
    retried = False
    while True:
        ports = distinct_free_ports(2 * nodes)  # clients', then the cluster bus's
        servers = [
            TCPExecutor(
                [
                    installed("redis-server", "redis-server"),
                    *("--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder)),
                    *("--cluster-enabled", "yes"),
                    *("--cluster-config-file", f"{port}.conf"),
                    *("--cluster-port", str(bus)),
                    *("--save", "", "--appendonly", "no"),
                    *("--loglevel", "warning", "--logfile", f"{port}.log"),
                ],
                host="127.0.0.1",
                port=port,
                timeout=30,
            )
            for port, bus in zip(ports[:nodes], ports[nodes:], strict=True)
        ]
        with ExitStack() as running:  # stops the started nodes on any failure
            try:
                for server in servers:
                    running.enter_context(server)
            except (AlreadyRunning, ProcessExitedWithError) as error:
                if not retried:
                    retried = True
                    continue
                log = folder / f"{server.port}.log"
                said = log.read_text() if log.exists() else "(no log)"
                raise AssertionError(f"{error} It logged: {said}") from None
            return running.pop_all(), servers


@contextmanager
def redis_cluster(
    folder: Path, nodes: int = 3
) -> Iterator[tuple[str, list[TCPExecutor]]]:
    """A Redis Cluster of `nodes` primaries on free loopback ports, its files in
    `folder`; yields the URL of one node, as a managed cluster's address is, and the
    nodes (to stop them)."""
    running, servers = cluster_nodes(folder, nodes)
    with running:
        addresses = [f"127.0.0.1:{server.port}" for server in servers]
        cli = installed("redis-cli", "redis-tools")
        if nodes == 1:  # `--cluster create` wants three: give the one node every slot
            create = [cli, "-p", str(servers[0].port), "cluster", "addslotsrange"]
            create += ["0", "16383"]
        else:
            create = [cli, "--cluster", "create", *addresses]
            create += ["--cluster-replicas", "0", "--cluster-yes"]
        subprocess.run(create, check=True, capture_output=True, timeout=60)
        # Every node must know every slot's owner before a client asks.
        deadline = time.monotonic() + 30
        for address in addresses:
            with redis.Redis.from_url(f"redis://{address}/0") as node:
                while node.cluster("info")["cluster_state"] != "ok":
                    assert time.monotonic() < deadline, "the cluster did not form"
                    time.sleep(0.1)
        yield f"redis://{addresses[0]}/0", servers


def redis_url(server: RedisExecutor) -> str:
    return f"redis://{server.host}:{server.port}/0"


def group_in_redis(url: str, prediction_id: str) -> dict[str, Any]:
    """The record of a prediction's group as Redis itself holds it, not the API's
    memory: the hash `{<namespace>}:group:<group id>` (store/redis_store.py)."""
    key = "{" + DISTRIBUTION + "}:group:" + group_id_of(prediction_id)
    with redis.Redis.from_url(url) as admin:
        record = admin.hget(key, RECORD)
    return {} if record is None else dict(orjson.loads(record))


def environment(settings: Settings) -> dict[str, str]:
    """The environment variables that give a process the files of `settings`."""
    return {
        f"{ENV_PREFIX}{name.upper()}": str(getattr(settings, name))
        for name in FILE_SETTINGS
    }


def api_server(
    settings: Settings, log: IO[bytes], **env: str
) -> tuple[HTTPExecutor, str]:
    """The project's `serve` command for `settings`' files, on a free port; it is
    ready once /health answers. `env` adds variables; the output goes to `log`."""
    port = free_port()
    server = HTTPExecutor(
        [sys.executable, "-m", package.__name__, "serve", "--port", str(port)],
        f"http://127.0.0.1:{port}/health",
        method="GET",
        timeout=120,
        envvars={**os.environ, **environment(settings), **env},
        stdout=log,
        stderr=log,
    )
    return server, f"http://127.0.0.1:{port}"


def prometheus_server(config: Path, log: IO[bytes]) -> tuple[HTTPExecutor, str]:
    """Prometheus with `config`, its data beside it, on a free port; it is ready once
    /-/ready answers. The output goes to `log`."""
    port = free_port()
    server = HTTPExecutor(
        [
            installed("prometheus", "prometheus"),
            f"--config.file={config}",
            f"--storage.tsdb.path={config.parent / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        f"http://127.0.0.1:{port}/-/ready",
        method="GET",
        timeout=60,
        stdout=log,
        stderr=log,
    )
    return server, f"http://127.0.0.1:{port}"
