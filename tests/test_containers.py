"""The serving image and the compose file.

No container engine runs here, so the Dockerfile is linted with hadolint and the compose
file validated against the Compose specification; then the image's runtime contract is
played out for real: its final stage's instructions are read from the Dockerfile and
carried out on a folder (files copied as `COPY` copies them, owned by root), and the
server is started as the image's unprivileged user.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import stat
import subprocess
import tempfile
import tomllib
import urllib.request
from urllib.parse import urlsplit
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from pathlib import Path

import pytest
import yaml

from baking import BIN, BakedProject, bake, free_port
from servers import running

# The build stage installs the project into this virtual environment.
VENV = "/app/.venv"
# Readable by every user: a venv whose base interpreter lives under /root is not.
SYSTEM_PYTHON = "/usr/bin/python3.11"


def test_the_dockerfiles_pass_hadolint(baked: BakedProject) -> None:
    dockerfiles = sorted(
        str(path.relative_to(baked.path)) for path in baked.path.rglob("Dockerfile")
    )

    assert len(dockerfiles) == (2 if baked.option("experiment_tracking") == "mlflow" else 1)
    baked.run(str(BIN / "hadolint"), *dockerfiles)


def test_the_image_runs_as_a_non_root_user_with_a_health_check(baked: BakedProject) -> None:
    image = final_stage(baked.read("Dockerfile"))

    assert image.user == "10001"
    assert "/health" in " ".join(image.healthcheck)
    assert f"python:{baked.option('python_version')}-slim" in baked.read("Dockerfile")
    assert ("uv.lock" in baked.read("Dockerfile")) == (baked.option("package_manager") == "uv")


def test_the_compose_file_follows_the_compose_specification(baked: BakedProject) -> None:
    baked.run(
        str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", "compose.yaml"
    )


def test_compose_keeps_the_api_local_keyed_and_redis_bounded(baked: BakedProject) -> None:
    services = yaml.safe_load(baked.read("compose.yaml"))["services"]
    prefix = baked.path.name.replace("-", "_").upper()
    password = "${REDIS_PASSWORD:?set it in .env}"

    api = services["api"]
    assert api["depends_on"] == {"redis": {"condition": "service_healthy"}}
    assert api["environment"]["REDIS_URL"] == f"redis://:{password}@redis:6379/0"
    assert api["environment"][f"{prefix}_API_KEY"].endswith(":?set it in .env}")
    assert (api["read_only"], api["cap_drop"]) == (True, ["ALL"])
    assert api["security_opt"] == ["no-new-privileges:true"]
    assert api["tmpfs"] == ["/tmp"]
    assert all(
        port.startswith("127.0.0.1:") for s in services.values() for port in s.get("ports", [])
    )
    command = services["redis"]["command"]
    assert command[command.index("--maxmemory-policy") + 1] == "volatile-ttl"
    assert command[command.index("--requirepass") + 1] == password
    assert services["redis"]["environment"]["REDISCLI_AUTH"] == password
    assert "healthcheck" in services["redis"]
    assert ("mlflow" in services) == (baked.option("experiment_tracking") == "mlflow")


def test_the_shared_registry_keeps_its_data_and_takes_its_secrets_from_env(
    baked: BakedProject,
) -> None:
    compose = yaml.safe_load(baked.read("compose.yaml"))
    services = compose["services"]
    if baked.option("experiment_tracking") != "mlflow":
        assert not {"mlflow", "postgres", "storage", "bucket"} & services.keys()
        return
    mlflow, postgres = services["mlflow"]["environment"], services["postgres"]["environment"]
    storage = services["storage"]["environment"]

    for name in ("mlflow", "postgres", "storage"):
        assert "healthcheck" in services[name], name
    for name in ("postgres", "storage"):
        [volume] = services[name]["volumes"]
        assert volume.split(":")[0] in compose["volumes"], name
    assert services["mlflow"]["build"] == services["bucket"]["build"] == "deploy/mlflow"
    # Out of the registry profile's way: a required variable (:?) would stop every
    # `docker compose up`, the registry's or not, until it is set.
    password = "${POSTGRES_PASSWORD:-}"
    assert postgres["POSTGRES_PASSWORD"] == password
    assert mlflow["MLFLOW_BACKEND_STORE_URI"].startswith(
        f"postgresql+psycopg://{postgres['POSTGRES_USER']}:{password}@postgres:5432/"
    )
    assert mlflow["AWS_ACCESS_KEY_ID"] == storage["RUSTFS_ACCESS_KEY"]
    assert mlflow["AWS_SECRET_ACCESS_KEY"] == storage["RUSTFS_SECRET_KEY"]
    assert mlflow["AWS_ENDPOINT_URL"] == services["bucket"]["environment"]["AWS_ENDPOINT_URL"]
    # The bucket the server writes to is the one created before it starts.
    bucket = mlflow["MLFLOW_ARTIFACTS_DESTINATION"].removeprefix("s3://").strip("/")
    assert f'create_bucket(Bucket="{bucket}")' in services["bucket"]["command"][-1]
    assert services["mlflow"]["depends_on"]["bucket"] == {
        "condition": "service_completed_successfully"
    }
    for variable in ("POSTGRES_PASSWORD", "STORAGE_ACCESS_KEY", "STORAGE_SECRET_KEY"):
        assert f"# {variable}=" in baked.read(".env.example")


def test_the_monitoring_profile_mounts_shipped_files_and_reads_secrets_from_env(
    baked: BakedProject,
) -> None:
    compose = yaml.safe_load(baked.read("compose.yaml"))
    services = compose["services"]
    prefix = baked.path.name.replace("-", "_").upper()
    monitoring = {name for name, s in services.items() if "monitoring" in s.get("profiles", [])}

    registry = {name for name, s in services.items() if "registry" in s.get("profiles", [])}
    assert monitoring == {"prometheus", "grafana"}
    # Only the API and Redis start with a plain `docker compose up`.
    assert {name for name, s in services.items() if "profiles" not in s} == {"api", "redis"}
    assert registry == (
        {"mlflow", "postgres", "storage", "bucket"}
        if baked.option("experiment_tracking") == "mlflow"
        else set()
    )
    for name in monitoring:
        mounted = [v.split(":")[0] for v in services[name]["volumes"] if v.startswith("./")]
        assert mounted and all((baked.path / path).is_file() for path in mounted), name
        assert "healthcheck" in services[name]
    assert compose["secrets"] == {
        "api_key": {"environment": f"{prefix}_API_KEY"},
        "grafana_admin_password": {"environment": "GRAFANA_ADMIN_PASSWORD"},
    }
    grafana = services["grafana"]["environment"]
    assert grafana["GF_SECURITY_ADMIN_PASSWORD__FILE"] == "/run/secrets/grafana_admin_password"
    scrape = yaml.safe_load(baked.read("deploy/monitoring/prometheus.yml"))
    [job] = scrape["scrape_configs"]
    assert job["authorization"]["credentials_file"] == "/run/secrets/api_key"
    assert job["static_configs"] == [{"targets": ["api:8000"]}]


@dataclass
class Stage:
    """The instructions of a Dockerfile stage that the runtime contract depends on."""

    workdir: str = "/"
    env: dict[str, str] = field(default_factory=dict)
    copies: list[list[str]] = field(default_factory=list)
    user: str = "root"
    command: list[str] = field(default_factory=list)
    healthcheck: list[str] = field(default_factory=list)


def final_stage(dockerfile: str) -> Stage:
    lines = dockerfile.replace("\\\n", " ").splitlines()
    instructions = [line.strip() for line in lines if line.strip() and line[0] != "#"]
    start = max(i for i, line in enumerate(instructions) if line.startswith("FROM "))
    stage = Stage()
    for instruction in instructions[start + 1 :]:
        keyword, _, rest = instruction.partition(" ")
        if keyword == "WORKDIR":
            stage.workdir = rest
        elif keyword == "ENV":
            stage.env |= dict(part.split("=", 1) for part in shlex.split(rest))
        elif keyword == "COPY":
            stage.copies.append(shlex.split(rest))
        elif keyword == "USER":
            stage.user = rest
        elif keyword == "CMD":
            stage.command = json.loads(rest)
        elif keyword == "HEALTHCHECK":
            stage.healthcheck = json.loads(rest.split(" CMD ", 1)[1])
    return stage


def copy_as_docker_does(context: Path, root: Path, stage: Stage, arguments: list[str]) -> None:
    """`COPY [--chmod=MODE] SRC... DEST`: owned by root, modes kept unless --chmod."""
    flags = dict(a.removeprefix("--").split("=", 1) for a in arguments if a.startswith("--"))
    *sources, destination = [a for a in arguments if not a.startswith("--")]
    if "from" in flags:  # the build stage's venv: built in place by `build_stage`
        assert sources == [VENV], f"unexpected COPY --from: {arguments}"
        return
    target = root / Path(stage.workdir, destination).relative_to("/")
    target.mkdir(mode=0o755, parents=True, exist_ok=True)
    for pattern in sources:
        matches = sorted(context.glob(pattern))
        assert matches, f"COPY {pattern}: no file matches, and the build would fail"
        for source in matches:
            copied = target / source.name
            shutil.copy2(source, copied)
            if "chmod" in flags:
                copied.chmod(int(flags["chmod"], 8))


@pytest.fixture
def image_root() -> Iterator[Path]:
    """A folder the image's user can reach (pytest's own tmp folders are root-only)."""
    root = Path(tempfile.mkdtemp(prefix="image-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root)


def run_as(uid: str) -> list[str]:
    """The command prefix that drops to the image's user: root (or sudo) and setpriv."""
    setpriv = shutil.which("setpriv")
    sudo = [] if os.geteuid() == 0 else ["sudo", "--non-interactive"]
    can = setpriv is not None and (
        not sudo or subprocess.run([*sudo, "true"], capture_output=True).returncode == 0
    )
    if not can:
        reason = "starting the server as the image's user needs setpriv, as root or with sudo"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}, and CI must run this test")
        pytest.skip(reason)
    return [*sudo, str(setpriv), f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]


@pytest.mark.slow
def test_the_image_serves_as_its_own_user(tmp_path: Path, image_root: Path) -> None:
    project = bake(tmp_path)
    stage = final_stage(project.read("Dockerfile"))
    drop_root = run_as(stage.user)
    project.run("make", "install")
    # A cautious umask: the image must not depend on the modes of the build context.
    project.run("bash", "-c", "umask 077 && make pipeline")
    assert stat.S_IMODE((project.path / "models/model.joblib").stat().st_mode) == 0o600

    # The build stage: the project and its locked dependencies, no dev tools.
    venv = image_root / VENV.lstrip("/")
    project.run(
        *("uv", "sync", "--locked", "--no-dev", "--no-editable", "--quiet"),
        UV_PROJECT_ENVIRONMENT=str(venv),
        UV_PYTHON=SYSTEM_PYTHON,
    )
    for copy in stage.copies:
        copy_as_docker_does(project.path, image_root, stage, copy)

    app = image_root / stage.workdir.lstrip("/")
    port, prefix = free_port(), project.path.name.replace("-", "_").upper()
    env = {k: v.replace("/app", str(app)) for k, v in stage.env.items()}
    env["PATH"] = env["PATH"].replace("$PATH", "/usr/bin:/bin")
    env |= {"HOME": "/tmp", f"{prefix}_HOST": "127.0.0.1", f"{prefix}_PORT": str(port)}
    as_the_image = [*drop_root, "env", "-i", *(f"{k}={v}" for k, v in env.items())]
    probe = [part.replace(":8000/", f":{port}/") for part in stage.healthcheck]

    def healthy() -> bool:
        checked = subprocess.run([*as_the_image, *probe], cwd=app, capture_output=True)
        return checked.returncode == 0

    with running([*as_the_image, *stage.command], "the image's server", healthy, 120, cwd=app):
        module = prefix.lower()
        example = f"import json; from {module}.dataset import EXAMPLE as E; print(json.dumps(E))"
        body = project.run(str(venv / "bin/python"), "-c", example).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/predict",
            data=body,
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
            assert json.loads(response.read())["label"] == "setosa"

    # The same image retrains: the CronJob's command and environment, as the image's
    # user, writing only to the Job's emptyDir (its working directory); the tracking
    # Secret's server stands as a SQLite store in that folder.
    [container] = manifests(project)["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["spec"][
        "containers"
    ]
    work = image_root / container["workingDir"].lstrip("/")
    work.mkdir(mode=0o777)
    work.chmod(0o777)  # as an emptyDir is
    job_env = {item["name"]: item["value"].replace("/app", str(app)) for item in container["env"]}
    job_env["MLFLOW_TRACKING_URI"] = f"sqlite:///{work}/mlflow.db"
    job_env["HOME"] = str(app)  # read-only, as the image's root filesystem
    before = sorted(path.relative_to(image_root) for path in app.rglob("*"))
    retrained = subprocess.run(
        [*drop_root, "env", "-i", *(f"{k}={v}" for k, v in (env | job_env).items())]
        + container["command"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert retrained.returncode == 0, retrained.stderr
    assert "evaluate: promoted" in retrained.stderr
    assert (work / "models/model.joblib").is_file()
    assert sorted(path.relative_to(image_root) for path in app.rglob("*")) == before


def manifests(baked: BakedProject) -> dict[str, dict[str, Any]]:
    """The Kubernetes manifests by kind."""
    folder = baked.path / "deploy" / "kubernetes"
    loaded = [yaml.safe_load(path.read_text()) for path in sorted(folder.rglob("*.yaml"))]
    return {manifest["kind"]: manifest for manifest in loaded}


def test_the_kubernetes_manifests_pass_the_kubernetes_schemas(baked: BakedProject) -> None:
    files = sorted(str(p) for p in (baked.path / "deploy" / "kubernetes").rglob("*.yaml"))

    optional = [
        baked.option("experiment_tracking") == "mlflow",  # jobs/retrain.yaml
        baked.option("orchestrator") == "airflow",  # airflow/pvc.yaml
    ]
    assert len(files) == 7 + sum(optional)
    baked.run(str(BIN / "kubernetes-validate"), "--strict", *files)


def test_the_deployment_runs_the_image_as_its_user_and_probes_health(
    baked: BakedProject,
) -> None:
    found = manifests(baked)
    prefix = baked.path.name.replace("-", "_").upper()
    image = final_stage(baked.read("Dockerfile"))
    pod = found["Deployment"]["spec"]["template"]["spec"]
    [container] = pod["containers"]

    assert str(pod["securityContext"]["runAsUser"]) == image.user
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["ports"][0]["containerPort"] == 8000
    probes = [container[f"{kind}Probe"]["httpGet"] for kind in ("startup", "readiness", "liveness")]
    assert {probe["path"] for probe in probes} == {"/health"}
    [key] = container["env"]
    assert key["name"] == f"{prefix}_API_KEY" and "secretKeyRef" in key["valueFrom"]
    config, *secrets = container["envFrom"]
    assert config["configMapRef"]["name"] == found["ConfigMap"]["metadata"]["name"]
    # The tracking server's address, for pods that serve the registry's champion.
    tracking = [{"secretRef": {"name": f"{baked.path.name}-tracking", "optional": True}}]
    assert secrets == (tracking if baked.option("experiment_tracking") == "mlflow" else [])
    assert "REDIS_URL" in found["ConfigMap"]["data"]
    assert found["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]["name"] == (
        found["Deployment"]["metadata"]["name"]
    )
    selector = found["Service"]["spec"]["selector"]
    assert selector.items() <= pod_labels(found["Deployment"]).items()
    assert pod["volumes"] == [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]


def test_the_scoring_job_shards_one_file_over_its_pods_as_the_api_runs(
    baked: BakedProject,
) -> None:
    found = manifests(baked)
    job, api = found["Job"]["spec"], found["Deployment"]["spec"]["template"]["spec"]
    pod = job["template"]["spec"]
    [container], [serving] = pod["containers"], api["containers"]
    image = final_stage(baked.read("Dockerfile"))
    command = container["command"]
    parts = int(command[-1].removeprefix("--shard=$(JOB_COMPLETION_INDEX)/"))

    assert job["completionMode"] == "Indexed"
    assert job["completions"] == job["parallelism"] == parts
    assert command[:2] == [image.command[0], "score"]
    assert "$(JOB_COMPLETION_INDEX)" in command[3]  # one output file per part
    assert container["image"] == serving["image"]
    assert pod["securityContext"] == api["securityContext"]
    assert container["securityContext"] == serving["securityContext"]
    assert pod["volumes"] == api["volumes"]
    assert {"requests", "limits"} <= container["resources"].keys()
    assert pod["restartPolicy"] == "Never"
    assert {"configMapRef": {"name": found["ConfigMap"]["metadata"]["name"]}} in (
        container["envFrom"]
    )
    # Neither the API's Service nor its NetworkPolicy (no egress to storage) selects it.
    labels = job["template"]["metadata"]["labels"]
    assert not found["Service"]["spec"]["selector"].items() <= labels.items()
    policy = found["NetworkPolicy"]["spec"]["podSelector"]["matchLabels"]
    assert not policy.items() <= labels.items()


def test_the_retraining_job_runs_the_pipeline_of_the_api_image_against_a_registry(
    baked: BakedProject,
) -> None:
    found = manifests(baked)
    if baked.option("experiment_tracking") != "mlflow":
        assert "CronJob" not in found  # no registry: the docs say why there is none
        return
    cron = found["CronJob"]["spec"]
    job = cron["jobTemplate"]["spec"]["template"]
    pod, api = job["spec"], found["Deployment"]["spec"]["template"]["spec"]
    [container], [serving] = pod["containers"], api["containers"]
    image = final_stage(baked.read("Dockerfile"))
    params = {item["value"] for item in container["env"] if item["name"].endswith("_PARAMS_FILE")}

    assert cron["concurrencyPolicy"] == "Forbid"
    assert container["command"] == [image.command[0], "pipeline"]
    assert container["image"] == serving["image"]
    # The image holds the parameters the Job names.
    assert params == {f"{image.workdir}/configs/params.yaml"}
    assert ["--chmod=0644", "configs/params.yaml", "./configs/"] in image.copies
    assert pod["securityContext"] == api["securityContext"]
    assert container["securityContext"] == serving["securityContext"]
    assert {"requests", "limits"} <= container["resources"].keys()
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    assert "emptyDir" in volumes[mounts[container["workingDir"]]]
    assert "emptyDir" in volumes[mounts["/tmp"]]
    secrets = [
        source["secretRef"]["name"] for source in container["envFrom"] if "secretRef" in source
    ]
    assert secrets == [f"{baked.path.name}-tracking"]
    labels = job["metadata"]["labels"]
    assert not found["Service"]["spec"]["selector"].items() <= labels.items()


def test_the_deployment_runs_a_released_image(baked: BakedProject) -> None:
    [container] = manifests(baked)["Deployment"]["spec"]["template"]["spec"]["containers"]
    version = tomllib.loads(baked.read("pyproject.toml"))["project"]["version"]

    # The tag that release.yml pushes for the git tag v<version>.
    assert container["image"].endswith(f"/{baked.path.name}:v{version}")
    assert "type=ref,event=tag" in baked.read(".github/workflows/release.yml")


def test_the_pods_may_reach_only_what_they_use_and_one_always_serves(
    baked: BakedProject,
) -> None:
    found = manifests(baked)
    labels = pod_labels(found["Deployment"])
    policy, budget = found["NetworkPolicy"]["spec"], found["PodDisruptionBudget"]["spec"]
    [container] = found["Deployment"]["spec"]["template"]["spec"]["containers"]
    redis_port = urlsplit(found["ConfigMap"]["data"]["REDIS_URL"]).port

    assert policy["podSelector"]["matchLabels"].items() <= labels.items()
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    [ingress] = policy["ingress"]
    assert [port["port"] for port in ingress["ports"]] == [container["ports"][0]["name"]]
    egress = {port["port"] for rule in policy["egress"] for port in rule["ports"]}
    registry = {5000, 443} if baked.option("experiment_tracking") == "mlflow" else set()
    assert egress == {53, redis_port} | registry
    assert budget["selector"]["matchLabels"].items() <= labels.items()
    assert budget["minAvailable"] < found["Deployment"]["spec"]["replicas"]


def pod_labels(deployment: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = deployment["spec"]["template"]["metadata"]["labels"]
    return labels
