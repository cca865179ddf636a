"""The workbook: it builds strictly, every command it asks a reader to run does run, and
a real browser shows its pages with no broken internal link."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from baking import BIN, TEMPLATE, bake, free_port, tool_env, wait_until

DOCS = TEMPLATE / "docs"
CHAPTERS = sorted((DOCS / "chapters").glob("*.md"))
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
MARKER = re.compile(r"<!-- (run|not run: .+?) -->\n$")


def blocks(page: Path) -> list[tuple[int, str, str]]:
    """(line, marker, code) for every shell block of a page."""
    text = page.read_text(encoding="utf-8")
    found = []
    for fence in FENCE.finditer(text):
        if fence[1] != "bash":
            continue
        line = text.count("\n", 0, fence.start()) + 1
        marker = MARKER.search(text[: fence.start()])
        found.append((line, marker[1] if marker else "", fence[2]))
    return found


@pytest.mark.parametrize("page", CHAPTERS, ids=lambda page: page.stem)
def test_every_shell_block_says_whether_it_runs(page: Path) -> None:
    for line, marker, _ in blocks(page):
        assert marker, f"{page.name}:{line}: mark the block <!-- run --> or <!-- not run: why -->"


@pytest.mark.slow
@pytest.mark.parametrize("page", CHAPTERS, ids=lambda page: page.stem)
def test_the_chapter_commands_run(page: Path, tmp_path: Path, redis_url: str) -> None:
    """The chapter's blocks, in order, in one shell, in a freshly generated project."""
    options = re.search(r"<!-- bake: (.+?) -->", page.read_text(encoding="utf-8"))
    if options and options[1] == "none":  # the chapter generates its own projects
        workdir = tmp_path
    else:
        answers = dict(item.split("=", 1) for item in options[1].split()) if options else {}
        workdir = bake(tmp_path, **answers).path
    script = ["set -euo pipefail"]
    for line, marker, code in blocks(page):
        if marker == "run":
            script += [f"echo '>>> {page.name}:{line}' >&2", code]
    done = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=workdir,
        env=tool_env(TEMPLATE=str(TEMPLATE)),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    where = re.findall(r"^>>> (\S+)$", done.stderr, re.MULTILINE)
    assert done.returncode == 0, (
        f"the block at {where[-1] if where else page.name} failed\n"
        f"--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("site")
    subprocess.run(
        [BIN / "mkdocs", "build", "--strict", "--quiet", "--site-dir", folder],
        cwd=TEMPLATE,
        env=tool_env(NO_MKDOCS_2_WARNING="1"),
        check=True,
    )
    return folder


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(str(values["id"]))
        if tag == "a" and values.get("href"):
            self.hrefs.append(str(values["href"]))


def parse(page: Path) -> Links:
    links = Links()
    links.feed(page.read_text(encoding="utf-8"))
    return links


def test_no_internal_link_or_anchor_is_broken(site: Path) -> None:
    pages = {page: parse(page) for page in site.rglob("*.html")}
    broken = []
    for page, links in pages.items():
        for href in links.hrefs:
            url = urlsplit(href)
            if url.scheme or url.netloc or href.startswith("mailto:"):
                continue
            root = site if url.path.startswith("/") else page.parent
            target = (root / unquote(url.path).lstrip("/")).resolve() if url.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{page.relative_to(site)} -> {href}")
            elif url.fragment and url.fragment not in pages.get(target, parse(target)).ids:
                broken.append(f"{page.relative_to(site)} -> {href} (no such anchor)")
    assert broken == []
    assert len(pages) >= 19  # home, 2 journal days, 13 chapters, 3 reference pages


def test_the_reference_is_generated_from_the_template(site: Path) -> None:
    options = (site / "reference" / "options" / "index.html").read_text()
    targets = (site / "reference" / "make-targets" / "index.html").read_text()
    files = (site / "reference" / "files" / "index.html").read_text()

    for question in ("project_slug", "python_version", "experiment_tracking"):
        assert f"<code>{question}</code>" in options
    assert "Lowest Python version the project supports" in options
    assert "<code>make airflow-test</code>" in targets
    assert "src/my_ml_project/serving/app.py" in files


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=site,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: subprocess.run(["curl", "-sf", base], check=False).returncode == 0, "site")
    yield base
    server.terminate()
    server.wait()


def browse(url: str, tmp_path: Path) -> str:
    """The page's DOM after Chromium (headless, offline flags) has run its scripts."""
    chromium = next(filter(None, map(shutil.which, ("chromium", "google-chrome"))), None)
    if chromium is None:
        reason = "Chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]
    flags += ["--disable-background-networking", "--disable-component-update", "--disable-sync"]
    done = subprocess.run(
        [chromium, *flags, f"--user-data-dir={tmp_path}", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def test_the_home_page_renders_in_a_browser(served: str, tmp_path: Path) -> None:
    dom = browse(f"{served}/", tmp_path)

    assert "<title>MLOps project template</title>" in dom
    assert 'class="md-tabs"' in dom
    assert re.search(r'class="md-tabs__link">\s*Chapters\s*<', dom)
    # Mermaid's script comes from a CDN when a reader is online; here, the diagram's
    # source must at least be in the page.
    assert "<code>flowchart LR" in dom
    assert "<code>" in dom


def test_a_chapter_renders_with_its_code_blocks(served: str, tmp_path: Path) -> None:
    dom = browse(f"{served}/chapters/pipeline/", tmp_path)

    assert "From notebook to pipeline" in dom
    assert dom.count('class="highlight"') >= 2
    assert "md-nav" in dom
