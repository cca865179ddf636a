"""MkDocs hook: serve Mermaid from the site itself, so diagrams draw offline.

Material for MkDocs draws ```mermaid blocks with the Mermaid library already on the page
when there is one, and fetches it from a CDN otherwise. This hook copies the library that
`npm ci` installed (package.json pins it) into the built site; `mkdocs.yml` loads it.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

LIBRARY = Path(__file__).resolve().parents[2] / "node_modules/mermaid/dist/mermaid.min.js"
TARGET = "javascripts/mermaid.min.js"


def on_post_build(config: Any, **kwargs: Any) -> None:
    if not LIBRARY.is_file():
        raise PluginError(f"{LIBRARY} is missing: run `npm ci` (or `make install`) first")
    target = Path(config["site_dir"]) / TARGET
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(LIBRARY, target)
