"""The workbook: it builds strictly, every command it asks a reader to run does run, and
a real browser shows its pages with no broken internal link."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from baking import (
    BIN,
    SECONDS_PER_CHAPTER,
    TEMPLATE,
    BakedProject,
    bake,
    free_port,
    tool_env,
    wait_until,
)
from servers import chromium

DOCS = TEMPLATE / "docs"
# The chapters in the order of the site's navigation: the order a reader takes them in.
COURSE = [
    DOCS / "chapters" / f"{name}.md"
    for name in re.findall(r"chapters/([\w-]+)\.md", (TEMPLATE / "mkdocs.yml").read_text())
]
# A fenced block, at the start of a line or indented inside an admonition.
FENCE = re.compile(r"^( *)```(\w*)\n(.*?)^\1```", re.MULTILINE | re.DOTALL)
MARKER = re.compile(r"<!-- (run|not run: .+?) -->\n *$")
SHAPE = [
    "## Learning goals",
    "## Prerequisites",
    "## Why it matters",
    "## Checkpoint",
    "## Exercise",
    '??? success "Solution"',
    "## What the hackathon team did",
    "## Further reading",
    "```mermaid",
]
# The shape that issue 27 settled, on top of SHAPE: an exercise that makes the reader
# think (a line that opens with one of THINKING, answered only in the solution), an
# optional concept box (`!!! abstract "Concept: NAME"`) where an idea needs one, and a
# quiz of three to five collapsed questions, each with its answer inside.
THINKING = ("**Predict:**", "**Observe:**", "**Decide:**")
CONCEPT = re.compile(r'^!!! abstract "Concept: [^"]+"\n\n(    \S.*\n)+', re.MULTILINE)
QUESTION = re.compile(r'^\?\?\? question "[^"]+\?"\n\n(    \S.*\n)+', re.MULTILINE)


def blocks(page: Path) -> list[tuple[int, str, str]]:
    """(line, marker, code) for every shell block of a page, dedented."""
    text = page.read_text(encoding="utf-8")
    found = []
    for fence in FENCE.finditer(text):
        if fence[2] != "bash":
            continue
        line = text.count("\n", 0, fence.start()) + 1
        marker = MARKER.search(text[: fence.start()])
        code = re.sub(rf"^{fence[1]}", "", fence[3], flags=re.MULTILINE)
        found.append((line, marker[1] if marker else "", code))
    return found


def test_the_course_lists_every_chapter() -> None:
    assert sorted(COURSE) == sorted((DOCS / "chapters").glob("*.md"))


@pytest.mark.parametrize("page", COURSE, ids=lambda page: page.stem)
def test_every_chapter_has_the_same_shape(page: Path) -> None:
    text = page.read_text(encoding="utf-8")

    missing = [part for part in SHAPE if part not in text]
    assert missing == [], f"{page.name} lacks {missing}"
    positions = [text.index(part) for part in SHAPE[:5]]
    assert positions == sorted(positions), f"{page.name}: goals, prerequisites, why, ..."
    checkpoint = text.split("## Checkpoint", 1)[1].split("\n## ", 1)[0]
    assert "<!-- run -->" in checkpoint, f"{page.name}: the checkpoint must be runnable"


def section(text: str, heading: str) -> str:
    """The text under a `## heading`, up to the next one."""
    return text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


@pytest.mark.parametrize("page", COURSE, ids=lambda page: page.stem)
def test_every_chapter_makes_the_reader_think(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    exercise = section(text, "Exercise").split('??? success "Solution"', 1)[0]
    assert any(
        line.startswith(THINKING) for line in exercise.splitlines()
    ), f"{page.name}: the exercise asks for a prediction, observation or decision"
    questions = QUESTION.findall(section(text, "Quiz"))
    assert 3 <= len(questions) <= 5, f"{page.name}: {len(questions)} quiz questions"
    boxes = text.count("!!! abstract")
    assert boxes == len(CONCEPT.findall(text)), f"{page.name}: a concept box lacks its body"
    headings = re.findall(r"^## (.+)$", text, flags=re.MULTILINE)
    assert headings.index("Quiz") == headings.index("What the hackathon team did") - 1


@pytest.mark.parametrize("page", COURSE, ids=lambda page: page.stem)
def test_every_shell_block_says_whether_it_runs(page: Path) -> None:
    for line, marker, _ in blocks(page):
        assert marker, f"{page.name}:{line}: mark the block <!-- run --> or <!-- not run: why -->"


def test_the_course_runs_the_default_projects_checks_as_generated() -> None:
    # test_generated_project.py leaves the default project's `make check` to the course:
    # chapters 2 and 3 run its parts, in order, on the project as chapter 1 made it.
    first = [code for page in COURSE[:3] for _, marker, code in blocks(page) if marker == "run"]
    commands = [line for code in first for line in code.splitlines()]
    parts = ["make format-check", "make lint", "make typecheck", "make test"]
    assert list(dict.fromkeys(command for command in commands if command in parts)) == parts


# The course's screenshots, retaken by `make screenshots` from the course's own project
# once chapter 14 has trained, served and monitored it.
SCREENSHOTS = ["mlflow-runs", "mlflow-model", "api-docs", "drift-report"]


@pytest.mark.slow
def test_the_course_runs_in_order_in_one_project(
    tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    """Every runnable block of every chapter, in the reader's order, in one shell that
    starts in an empty folder: chapter 1 generates the project the others work in."""
    images = tmp_path / "img"
    script = ["set -euo pipefail"]
    for page in COURSE:
        for line, marker, code in blocks(page):
            if marker == "run":
                script += [f'echo ">>> {page.name}:{line} $SECONDS" >&2', code]
        if page.stem == "production":
            script.append('echo ">>> screenshots $SECONDS" >&2')
            script.append(f'make -C "$TEMPLATE" screenshots PROJECT="$PWD" IMAGES={images}')
    script.append('echo ">>> end $SECONDS" >&2')
    # A session of its own: whatever a failed block left running is stopped with it.
    shell = subprocess.Popen(
        ["bash", "-c", "\n".join(script)],
        cwd=tmp_path,
        env=tool_env(
            TEMPLATE=str(TEMPLATE),
            GIT_AUTHOR_NAME="Reader",
            GIT_AUTHOR_EMAIL="reader@example.com",
            GIT_COMMITTER_NAME="Reader",
            GIT_COMMITTER_EMAIL="reader@example.com",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = shell.communicate(timeout=3600)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(shell.pid, signal.SIGTERM)
    done = subprocess.CompletedProcess(shell.args, shell.returncode, stdout, stderr)
    where = re.findall(r"^>>> (\S+) (\d+)$", done.stderr, re.MULTILINE)
    assert done.returncode == 0, (
        f"the block at {where[-1][0] if where else 'the start'} failed\n"
        f"--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
    )
    runnable = sum(marker == "run" for p in COURSE for _, marker, _ in blocks(p))
    assert len(where) == runnable + 2  # and the screenshots, and the end
    # Each chapter's time, which the run's summary prints (conftest.py): the setup page
    # quotes these figures, and they show where the suite's longest test spends it.
    spent: dict[str, int] = {}
    for (block, start), (_, end) in zip(where, where[1:]):
        chapter = block.split(":")[0]
        spent[chapter] = spent.get(chapter, 0) + int(end) - int(start)
    record_property(SECONDS_PER_CHAPTER, spent)
    score = re.search(r"^score: (\d+)/(\d+)$", done.stdout, re.MULTILINE)
    assert score and score[1] == score[2] and int(score[2]) >= 10, done.stdout[-3000:]
    for name in SCREENSHOTS:
        assert (images / f"{name}.png").read_bytes().startswith(b"\x89PNG"), name
        assert (DOCS / "chapters" / "img" / f"{name}.png").exists(), f"{name}.png is not committed"


def test_every_screenshot_is_shown_in_a_chapter() -> None:
    text = "".join(page.read_text() for page in COURSE)
    shown = re.findall(r"!\[[^\]]+\]\(img/([\w-]+)\.png\)", text)
    committed = [picture.stem for picture in (DOCS / "chapters" / "img").glob("*.png")]
    assert sorted(set(shown)) == sorted(committed)
    assert set(SCREENSHOTS) <= set(shown)


@pytest.fixture(scope="module")
def course_projects(tmp_path_factory: pytest.TempPathFactory) -> list[BakedProject]:
    """The project as the course generates it: defaults, then with Airflow."""
    folder = tmp_path_factory.mktemp("course")
    return [bake(folder / "defaults"), bake(folder / "airflow", orchestrator="airflow")]


def workbook_text() -> str:
    pages = [*COURSE, DOCS / "index.md", DOCS / "glossary.md"]
    return "\n".join(page.read_text(encoding="utf-8") for page in pages)


def test_the_workbook_names_only_what_the_template_generates(
    course_projects: list[BakedProject],
) -> None:
    text = workbook_text()
    generated = {
        str(path.relative_to(project.path))
        for project in course_projects
        for path in project.path.rglob("*")
        if ".git" not in path.parts
    }
    everything = "\n".join(
        project.read(name)
        for project in course_projects
        for name in sorted(generated)
        if (project.path / name).is_file()
    )
    cli = course_projects[0].read("src/my_ml_project/cli.py")
    steps = course_projects[0].read("src/my_ml_project/pipeline/__init__.py")
    commands = set(re.findall(r"@app.command\(\)\n@one_line_errors\ndef (\w+)", cli))
    commands |= set(re.findall(r'name="(\w+)"', steps))
    targets = set(re.findall(r"^([a-z-]+):.*## ", everything, re.MULTILINE))

    # `make x` in prose, or a line of a code block that starts with it.
    named = re.findall(r"(?:^|`)make ((?:[a-z][a-z-]+ ?)+)", text, re.MULTILINE)
    wrong = [f"make {t}" for ts in named for t in ts.split() if t not in targets]
    wrong += [
        f"command {c}" for c in re.findall(r"bin/my-ml-project (\w+)", text) if c not in commands
    ]
    wrong += [v for v in set(re.findall(r"\bMY_ML_PROJECT_\w+", text)) if v not in everything]
    for path in re.findall(
        r"`((?:src|tests|dags|deploy|benchmarks|configs|\.github)/[^`<\s]*)`", text
    ):
        if path.rstrip("/") not in generated:
            wrong.append(path)
    assert wrong == []
    assert len(commands) >= 8 and {"install", "monitor", "airflow-test"} <= targets


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
    """The page's DOM after Chromium has run its scripts, with no network."""
    return chromium(url, tmp_path, "--dump-dom")


def test_the_home_page_renders_in_a_browser(served: str, tmp_path: Path) -> None:
    dom = browse(f"{served}/", tmp_path)

    assert "<title>MLOps project template</title>" in dom
    assert 'class="md-tabs"' in dom
    assert re.search(r'class="md-tabs__link">\s*Chapters\s*<', dom)
    assert 'src="javascripts/mermaid.min.js"' in dom


def test_a_chapter_renders_with_its_code_blocks(served: str, tmp_path: Path) -> None:
    dom = browse(f"{served}/chapters/pipeline/", tmp_path)

    assert "A pipeline of steps" in dom
    assert dom.count('class="highlight"') >= 2
    assert "md-nav" in dom


DIAGRAMS = [page for page in [DOCS / "index.md", *COURSE] if "```mermaid" in page.read_text()]


@pytest.mark.parametrize("page", DIAGRAMS, ids=lambda page: page.stem)
def test_the_diagrams_are_drawn_offline(served: str, tmp_path: Path, page: Path) -> None:
    """Material swaps each diagram's source for a drawing once Mermaid has drawn it: with
    the library served by the site itself, no source is left, with no network at all."""
    path = "" if page.name == "index.md" else f"chapters/{page.stem}/"
    expected = page.read_text().count("```mermaid")

    dom = browse(f"{served}/{path}", tmp_path)

    assert dom.count('<pre class="mermaid">') == 0, "a diagram was left as code"
    assert dom.count('<div class="mermaid">') == expected
