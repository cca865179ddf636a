"""Real servers on loopback ports for the tests that need a team's infrastructure:
S3 (moto's standalone server), PostgreSQL and an MLflow tracking server."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from baking import BIN, free_port, needed, tool_env, wait_until

# Any key works with moto; the region keeps boto3 and pyarrow from looking one up.
STORAGE_KEYS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
}


def answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2).close()
        return True
    except OSError:  # refused, reset or timed out (URLError is one too)
        return False


@dataclass(frozen=True)
class Server:
    """A started server: the file that holds its output, and its process group."""

    log: Path
    group: int

    def commands(self) -> list[str]:
        """The command line of each process in the server's group: what it started."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with suppress(OSError):  # a process that ended meanwhile
                # After the command's name in parentheses: state, parent, group.
                if int(stat.read_text().rpartition(")")[2].split()[2]) == self.group:
                    command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ")
                    found.append(command.decode().strip())
        return found


@contextmanager
def running(
    command: list[str],
    what: str,
    ready: str | Callable[[], bool],
    seconds: float = 30,
    **popen: Any,
) -> Iterator[Server]:
    """Start a server in a process group of its own, wait until `ready` (a URL that
    answers, or a check) holds, and stop the whole group on the way out."""
    log = Path(tempfile.mkstemp(prefix="server-", suffix=".log")[1])
    with log.open("w") as output:
        server = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True, **popen
        )

    def up() -> bool:
        assert server.poll() is None, f"{what} died:\n{log.read_text()}"
        return answers(ready) if isinstance(ready, str) else ready()

    try:
        wait_until(up, what, seconds)
        yield Server(log, server.pid)
    finally:
        # The whole process group: servers such as MLflow's start workers of their own.
        with suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.unlink()


def no_job_runners(server: Server) -> None:
    """MLflow's GenAI job runners (mlflow.server.jobs and its huey consumers, about
    0.85 GB) are off, as the project's `make mlflow-ui` and compose's MLflow server set."""
    signs = ("mlflow.server.jobs", "huey")
    runners = [line for line in server.commands() if any(sign in line for sign in signs)]
    assert not runners, f"MLflow started its job runners: {runners}"


def chromium(url: str, profile: Path, *options: str) -> str:
    """Headless Chromium on `url` once its scripts have run; returns what it printed.

    Virtual time lets a page's scripts (Mermaid, a single-page app) finish first; a proxy
    that answers nothing cuts every address but loopback, so nothing comes from the web.
    The wall-clock timeout ends the page's loading after a minute: without it, a page that
    polls its server (MLflow's UI) sometimes kept headless Chromium from ever finishing.
    """
    found = next(filter(None, map(shutil.which, ("chromium", "google-chrome"))), None)
    browser = found or needed("chromium", "apt-get install chromium")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]
    flags += ["--disable-background-networking", "--disable-component-update", "--disable-sync"]
    flags += ["--virtual-time-budget=20000", "--timeout=60000", "--proxy-server=http://127.0.0.1:9"]
    done = subprocess.run(
        [browser, *flags, f"--user-data-dir={profile}", *options, url],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


@contextmanager
def s3_server(bucket: str) -> Iterator[str]:
    """moto's S3 server with one empty bucket; yields its endpoint URL."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with running([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], "moto", endpoint):
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/{bucket}", method="PUT"))
        yield endpoint


def bucket_keys(endpoint: str, bucket: str) -> list[str]:
    """Every key in a bucket of moto's server (which takes unsigned requests)."""
    with urllib.request.urlopen(f"{endpoint}/{bucket}?list-type=2", timeout=10) as response:
        listing = ElementTree.fromstring(response.read())
    return [element.text or "" for element in listing.iter() if element.tag.endswith("Key")]


@contextmanager
def postgres_server() -> Iterator[str]:
    """A PostgreSQL cluster of its own on a free port; yields its SQLAlchemy URL.

    initdb and pg_ctl refuse to run as root, so under root (CI) they run as nobody.
    """
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    pg_ctl = str(found[-1]) if found else needed("pg_ctl", "apt-get install postgresql")
    initdb = str(Path(pg_ctl).with_name("initdb"))
    as_user: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="postgres-"))
    folder.chmod(0o755)
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        os.chown(folder, nobody.pw_uid, nobody.pw_gid)
        setpriv = needed("setpriv", "apt-get install util-linux")
        as_user = [setpriv, f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}"]
        as_user.append("--clear-groups")
    data, port = folder / "data", free_port()
    options = f"-k {folder} -p {port} -c listen_addresses=127.0.0.1"

    def run(*command: str) -> None:
        subprocess.run([*as_user, *command], check=True, capture_output=True, timeout=120)

    try:
        run(initdb, "-D", str(data), "--username=mlflow", "--auth=trust", "--encoding=UTF8")
        run(pg_ctl, "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start")
        yield f"postgresql+psycopg://mlflow@127.0.0.1:{port}/postgres"
    finally:
        if (data / "postmaster.pid").exists():
            run(pg_ctl, "-D", str(data), "-m", "fast", "stop")
        shutil.rmtree(folder)


def image_packages(dockerfile: str) -> tuple[str, list[str]]:
    """The MLflow version of an image built FROM MLflow's own, and what it installs."""
    version = re.search(r"^FROM ghcr\.io/mlflow/mlflow:v(\S+)$", dockerfile, re.M)
    install = re.search(r"^RUN pip install --no-cache-dir (.+)$", dockerfile, re.M)
    assert version and install, "deploy/mlflow/Dockerfile: no FROM mlflow or pip install"
    packages = [package.strip('"') for package in install[1].split()]
    return version[1], packages


@contextmanager
def mlflow_server(dockerfile: str, env: dict[str, str]) -> Iterator[str]:
    """`mlflow server` with the packages of the image `dockerfile` builds, configured by
    `env` alone as the image is; yields its URL."""
    version, packages = image_packages(dockerfile)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(BIN / "uv"), "tool", "run", f"--from=mlflow=={version}"]
    command += [f"--with={package}" for package in packages]
    command += ["mlflow", "server", "--host=127.0.0.1", f"--port={port}"]
    env = tool_env(**{**env, "MLFLOW_SERVER_ALLOWED_HOSTS": f"127.0.0.1:{port}"})
    # The first run downloads the packages into uv's cache.
    with running(command, "the MLflow tracking server", f"{url}/health", 300, env=env) as server:
        yield url
        no_job_runners(server)
