"""The user documentation: a one-screen README, the docs/ site that builds with no broken internal link, and no
dates, commit hashes or issue numbers in either (they belong in notes)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest
import yaml
from helpers import REPO

PAGES = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]


def _build(config, site):
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config), "--site-dir", str(site)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_readme_fits_one_screen_and_links_every_docs_page():
    text = (REPO / "README.md").read_text()
    assert len(text.splitlines()) <= 150
    linked = set(re.findall(r"\]\((docs/[^)#]+\.md)\)", text))
    figures = re.findall(r"!\[[^]]*\]\((docs/[^)]+)\)", text)
    assert figures and all((REPO / figure).exists() for figure in figures)  # the trade-off figure, and every other it shows
    topics = {f"docs/{page.name}" for page in (REPO / "docs").glob("*.md") if page.name != "index.md"}
    assert linked == topics | {"docs/methods/index.md"}
    for heading in ("## Two commands", "## What it measures", "## What it found", "## Read more"):
        assert heading in text


def test_the_site_builds_strictly_with_every_page_in_its_nav(tmp_path):
    def pages(entry):  # a nav entry: "page.md", {title: "page.md"} or {title: [entries]}
        if isinstance(entry, str):
            yield entry
        elif isinstance(entry, list):
            for item in entry:
                yield from pages(item)
        else:
            for value in entry.values():
                yield from pages(value)

    config = yaml.safe_load((REPO / "mkdocs.yml").read_text())
    in_nav = list(pages(config["nav"]))
    assert sorted(in_nav) == sorted(str(page.relative_to(REPO / "docs")) for page in (REPO / "docs").rglob("*.md"))
    result = _build(REPO / "mkdocs.yml", tmp_path / "site")
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "site" / "methods" / "index.html").exists()


def test_a_broken_internal_link_fails_the_build(tmp_path):
    shutil.copytree(REPO / "docs", tmp_path / "docs")
    shutil.copy(REPO / "mkdocs.yml", tmp_path / "mkdocs.yml")
    page = tmp_path / "docs" / "methods" / "index.md"
    page.write_text(page.read_text() + "\nSee [the missing page](nowhere.md).\n")
    result = _build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert result.returncode != 0 and "nowhere.md" in result.stderr


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_user_documentation_carries_no_dates_commit_hashes_or_issue_numbers(page):
    text = page.read_text()
    assert not re.findall(r"\b20\d\d-\d\d-\d\d\b", text)
    assert not [word for word in re.findall(r"\b[0-9a-f]{7,40}\b", text) if re.search(r"\d", word) and re.search(r"[a-f]", word)]
    assert not re.findall(r"(?<![\w&])#\d+\b", text)


def test_the_configuration_page_is_what_the_schema_generates_and_every_key_is_described():
    from attrunlearn_core.config_reference import config_reference, undocumented

    assert not undocumented()
    assert (REPO / "docs" / "configuration.md").read_text() == config_reference(), (
        "run: python -m attrunlearn_core.config_reference > docs/configuration.md"
    )


def _default_in_docs(value) -> str:
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


def test_every_registered_method_has_a_page_with_every_knob_and_its_default():
    from attrunlearn_core.methods import METHODS, get_method_class

    index = (REPO / "docs" / "methods" / "index.md").read_text()
    for name in METHODS.names():
        page = REPO / "docs" / "methods" / f"{name}.md"
        assert page.exists(), f"no page for method {name}"
        assert f"[`{name}`]({name}.md)" in index
        text = page.read_text()
        for heading in ("**Knobs.**", "**Cost.**", "**Citation.**"):
            assert heading in text, f"{page.name}: no {heading}"
        for key, value in get_method_class(name).DEFAULTS.items():
            assert f"| `{key}` | `{_default_in_docs(value)}` |" in text, f"{page.name}: knob {key} (default {value!r}) not in its table"
