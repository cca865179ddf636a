"""The serving image and the compose file, checked by the linters users' CI would run.

No Docker engine is needed: hadolint lints the Dockerfile, and the compose file is
validated against the Compose specification's JSON schema.
"""

from __future__ import annotations

import yaml

from baking import BIN, BakedProject


def test_the_dockerfile_passes_hadolint(baked: BakedProject) -> None:
    baked.run(str(BIN / "hadolint"), "Dockerfile")


def test_the_image_runs_as_a_non_root_user_with_a_health_check(baked: BakedProject) -> None:
    dockerfile = baked.read("Dockerfile")
    final_stage = dockerfile.rsplit("\nFROM ", 1)[1]

    assert "USER 10001" in final_stage
    assert "HEALTHCHECK" in final_stage and "/health" in final_stage
    assert f"python:{baked.option('python_version')}-slim" in dockerfile
    assert ("uv.lock" in dockerfile) == (baked.option("package_manager") == "uv")


def test_the_compose_file_follows_the_compose_specification(baked: BakedProject) -> None:
    baked.run(
        str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", "compose.yaml"
    )


def test_the_api_waits_for_a_healthy_redis(baked: BakedProject) -> None:
    services = yaml.safe_load(baked.read("compose.yaml"))["services"]

    assert services["api"]["depends_on"] == {"redis": {"condition": "service_healthy"}}
    assert services["api"]["environment"]["REDIS_URL"] == "redis://redis:6379/0"
    assert "healthcheck" in services["redis"]
    assert ("mlflow" in services) == (baked.option("experiment_tracking") == "mlflow")
