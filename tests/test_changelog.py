"""The template's CHANGELOG: Keep a Changelog's shape, SemVer versions, newest first."""

from __future__ import annotations

import re
from datetime import date

from baking import TEMPLATE

CHANGELOG = (TEMPLATE / "CHANGELOG.md").read_text(encoding="utf-8")
# Keep a Changelog's kinds of change, in the order its own example uses.
KINDS = ["Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"]
VERSION = re.compile(r"^## \[(\d+)\.(\d+)\.(\d+)\] - (\d{4}-\d{2}-\d{2})$", re.MULTILINE)


def sections() -> dict[str, str]:
    """Each `## [...]` section's text, by its heading's name."""
    parts = re.split(r"^## \[([^\]]+)\].*$", CHANGELOG, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_the_changelog_opens_with_an_unreleased_section() -> None:
    assert list(sections())[0] == "Unreleased"


def test_versions_are_semver_newest_first_with_their_dates() -> None:
    found = [
        ((int(major), int(minor), int(patch)), date.fromisoformat(day))
        for major, minor, patch, day in VERSION.findall(CHANGELOG)
    ]

    assert found, "no released version"
    assert [version for version, _ in found] == sorted(
        {version for version, _ in found}, reverse=True
    )
    assert [day for _, day in found] == sorted((day for _, day in found), reverse=True)
    assert len(found) == len(sections()) - 1  # every other heading is a version


def test_each_section_uses_only_keep_a_changelogs_kinds_in_order() -> None:
    for name, text in sections().items():
        kinds = re.findall(r"^### (.+)$", text, flags=re.MULTILINE)
        unknown = [kind for kind in kinds if kind not in KINDS]
        assert unknown == [], f"[{name}]: {unknown} are not kinds of change"
        assert kinds == sorted(kinds, key=KINDS.index), f"[{name}]: kinds out of order"


def test_every_section_has_a_link_at_the_foot() -> None:
    links = re.findall(r"^\[([^\]]+)\]: https://\S+$", CHANGELOG, flags=re.MULTILINE)
    assert links == list(sections())


def test_entries_that_ask_the_user_to_act_say_what_to_do() -> None:
    entries = "".join(sections().values())
    actions = re.findall(r"\*\*Action:\*\*(.*?)(?=\n- |\n\n|\Z)", entries, re.DOTALL)
    # An action names the command to run or the file to edit, in code.
    assert all("`" in action for action in actions), actions
