"""MkDocs hook: build the reference pages from the template itself, so they cannot drift.

A page that contains one of these markers gets it replaced at build time:
- `<!-- options -->`: every question of cookiecutter.json, its help text and default;
- `<!-- files -->`: the files a default project contains, baked for real;
- `<!-- make-targets -->`: the generated Makefile's targets and their help text.
"""

from __future__ import annotations

import json
import re
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parents[2]


def options_table() -> str:
    options: dict[str, Any] = json.loads((TEMPLATE / "cookiecutter.json").read_text())
    prompts = options["__prompts__"]
    rows = ["| option | question | default | choices |", "| --- | --- | --- | --- |"]
    for name, value in options.items():
        if name.startswith("_"):
            continue
        # A menu is a list; a free-text question may accept a private list of choices.
        choices = value if isinstance(value, list) else options.get(f"__{name}_choices", [])
        default = choices[0] if choices else value
        shown = "derived" if "{{" in str(default) else f"`{default}`"
        listed = ", ".join(f"`{choice}`" for choice in choices)
        rows.append(f"| `{name}` | {prompts[name]} | {shown} | {listed} |")
    return "\n".join(rows)


@cache
def default_files() -> list[str]:
    with tempfile.TemporaryDirectory() as folder:
        project = Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=folder))
        return sorted(
            str(path.relative_to(project))
            for path in project.rglob("*")
            if path.is_file() and ".git" not in path.relative_to(project).parts
        )


def files_block() -> str:
    return "```text\n" + "\n".join(default_files()) + "\n```"


def make_targets_table() -> str:
    makefile = (TEMPLATE / "{{cookiecutter.project_slug}}" / "Makefile").read_text()
    rows = ["| target | what it does |", "| --- | --- |"]
    for target, text in re.findall(r"^([a-z-]+):.*?## (.+)$", makefile, re.MULTILINE):
        rows.append(f"| `make {target}` | {text} |")
    return "\n".join(rows)


MARKERS = {
    "<!-- options -->": options_table,
    "<!-- files -->": files_block,
    "<!-- make-targets -->": make_targets_table,
}


def on_page_markdown(markdown: str, **_: Any) -> str:
    for marker, build in MARKERS.items():
        if marker in markdown:
            markdown = markdown.replace(marker, build())
    return markdown
