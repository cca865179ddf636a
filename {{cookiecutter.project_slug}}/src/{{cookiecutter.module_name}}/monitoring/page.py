"""The drift report as a page: one chart per feature, training against live.

The page is one self-contained file (inline SVG and CSS, no script, nothing fetched),
so it opens from a CI artifact or an e-mail as well as from disk.
"""

from collections.abc import Mapping
from html import escape
from typing import Any

import numpy as np

WIDTH, HEIGHT, MARGIN = 420, 150, 24
BARS = 24
STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 64rem;
       padding: 0 1rem; color: #1b1b1f; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(27rem, 1fr));
        gap: 1rem; }
figure { margin: 0; padding: .75rem; border: 1px solid #d0d0d8; border-radius: 6px; }
figcaption { display: flex; justify-content: space-between; font-weight: 600; }
.drifted { color: #b3261e; } .stable { color: #1e7b34; }
.legend span { display: inline-block; width: .8em; height: .8em; margin: 0 .3em 0 1em; }
td, th { padding: .2rem .8rem .2rem 0; text-align: left; }
"""
TRAINING, LIVE = "#8e8e9a", "#3f51b5"


def chart(training: np.ndarray, live: np.ndarray) -> str:
    """Return an SVG of both distributions as shares of their values per bar."""
    low = float(min(training.min(), live.min()))
    high = float(max(training.max(), live.max()))
    edges = np.linspace(low, high if high > low else low + 1, BARS + 1)
    heights = [
        np.histogram(values, edges)[0] / len(values) for values in (training, live)
    ]
    tallest = max(float(h.max()) for h in heights)
    width = (WIDTH - 2 * MARGIN) / BARS
    bottom = HEIGHT - MARGIN
    bars = []
    for color, shares in zip((TRAINING, LIVE), heights, strict=True):
        for i, share in enumerate(shares.tolist()):
            tall = (bottom - MARGIN / 2) * share / tallest
            bars.append(
                f'<rect x="{MARGIN + i * width:.1f}" y="{bottom - tall:.1f}" '
                f'width="{width - 1:.1f}" height="{tall:.1f}" fill="{color}" '
                'fill-opacity="0.6"/>'
            )
    axis = (
        f'<line x1="{MARGIN}" y1="{bottom}" x2="{WIDTH - MARGIN}" y2="{bottom}" '
        'stroke="#555"/>'
        f'<text x="{MARGIN}" y="{HEIGHT - 6}" font-size="11">{low:g}</text>'
        f'<text x="{WIDTH - MARGIN}" y="{HEIGHT - 6}" font-size="11" '
        f'text-anchor="end">{high:g}</text>'
    )
    return (
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" width="100%">'
        f"{''.join(bars)}{axis}</svg>"
    )


def render(
    report: Mapping[str, Any], values: Mapping[str, tuple[np.ndarray, np.ndarray]]
) -> str:
    """Return the page for `report`, with the training and live values per feature."""
    figures = []
    for feature, drift in report["features"].items():
        verdict = "drifted" if drift["drifted"] else "stable"
        figures.append(
            f"<figure><figcaption><span>{escape(feature)}</span>"
            f'<span class="{verdict}">{verdict}</span></figcaption>'
            f"{chart(*values[feature])}"
            f"<small>KS p-value {drift['p_value']:.3g}, PSI {drift['psi']:.3f}, mean "
            f"{drift['training_mean']:.3g} in training, {drift['live_mean']:.3g} live"
            "</small></figure>"
        )
    feedback = report["feedback"]
    accuracy = (
        f"{feedback['accuracy']:.3f} over {feedback['predictions']} predictions"
        if feedback["accuracy"] is not None
        else "no feedback yet"
    )
    window = report["window"]
    facts = {
        "Predictions read": report["predictions"],
        "From": window["first"],
        "To": window["last"],
        "Model versions": ", ".join(report["model_versions"]),
        "Training rows": report["training_rows"],
        "Live accuracy": accuracy,
        "Drifted features": ", ".join(report["drifted"]) or "none",
        "Verdict": (
            "retrain: " + "; ".join(report["verdict"]["reasons"])
            if report["verdict"]["retrain"]
            else "no retrain"
        ),
    }
    rows = "".join(
        f"<tr><th>{escape(name)}</th><td>{escape(str(value))}</td></tr>"
        for name, value in facts.items()
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Drift report: {escape(report['project'])}</title>"
        f"<style>{STYLE}</style></head><body>"
        f"<h1>Drift report: {escape(report['project'])}</h1>"
        f"<p>Written {escape(report['created_at'])}.</p><table>{rows}</table>"
        f'<p class="legend"><span style="background:{TRAINING}"></span>training'
        f'<span style="background:{LIVE}"></span>live</p>'
        f'<div class="grid">{"".join(figures)}</div></body></html>\n'
    )
