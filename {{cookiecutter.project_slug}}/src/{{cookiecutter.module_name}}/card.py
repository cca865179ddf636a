"""The model card: what a reader needs to trust (or question) a trained model."""

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from .files import atomic_path
from .model import Parity, TrainedModel, parity_verdict
from .promotion import Decision


def git_commit() -> str:
    """Return the commit the code is at, or why it is unknown."""
    git = shutil.which("git")
    if git is None:
        return "unknown (git is not installed)"
    done = subprocess.run(  # noqa: S603 (fixed arguments, no shell)
        [git, "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() if done.returncode == 0 else "unknown (no commit yet)"


def serving(model: TrainedModel, parity: Parity | None) -> str:
    """Say which runtime will serve the model, and why."""
    if parity is None:
        return f"scikit-learn: no ONNX export ({model.onnx_error or 'not found'})"
    runtime = "ONNX Runtime" if parity["passed"] else "scikit-learn"
    return f"{runtime}: {parity_verdict(parity)}"


def write_model_card(
    model: TrainedModel,
    metrics: dict[str, float],
    parity: Parity | None,
    decision: Decision,
    path: Path,
) -> None:
    """Describe the model that serves, and the last decision about who serves."""
    lines = [
        "# Model card: the model that serves",
        "",
        f"- Written: {datetime.now(UTC).isoformat(timespec='seconds')}",
        f"- Trained: {model.trained_at}",
        f"- Code: git commit {git_commit()}",
        "",
        "## Data",
        "",
        f"- Features: {', '.join(model.features)}",
        f"- Classes: {', '.join(model.classes)}",
        f"- Evaluated on {metrics['test_rows']:.0f} held-out rows",
        "",
        "## Parameters",
        "",
        *[f"- {name}: {value}" for name, value in sorted(model.params.items())],
        "",
        "## Metrics",
        "",
        *[f"- {name}: {value}" for name, value in sorted(metrics.items())],
        "",
        "## Promotion",
        "",
        f"- Decision: {decision['reason']}",
        "## Serving",
        "",
        f"- Runtime: {serving(model, parity)}",
        "",
    ]
    with atomic_path(path) as temporary:
        temporary.write_text("\n".join(lines), encoding="utf-8")
