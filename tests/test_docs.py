"""The README and docs/: every relative link and anchor leads somewhere, the README stays short."""

import re
from collections import Counter

import pytest

from conftest import ROOT

DOCS = [ROOT / "README.md", ROOT / "bench" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, a repeated
    heading numbered -1, -2, ..."""
    seen, found = Counter(), set()
    text = re.sub(r"```.*?```", "", markdown, flags=re.DOTALL)
    for heading in re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(f"{slug}-{seen[slug]}" if seen[slug] else slug)
        seen[slug] += 1
    return found


def test_anchors_follow_githubs_rule():
    text = "# A (`b.py`), c: d\n## Two\n## Two\n```\n# not a heading\n```\n"
    assert anchors(text) == {"a-bpy-c-d", "two", "two-1"}


@pytest.mark.parametrize("page", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_anchor_exists(page):
    text = page.read_text()
    broken = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue  # a web address
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            broken.append(f"{target}: no {linked}")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked.read_text()):
            broken.append(f"{target}: no heading '#{anchor}' in {linked.name}")
    assert not broken, f"{page.name}: " + "; ".join(broken)


def test_the_readme_is_read_in_five_minutes():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines: move detail to docs/"
    for command in ("make run", "make test"):
        assert any(line.startswith(command) for line in lines), command


GENERATED = re.compile(
    r"<!-- generated: (\S+) \(bench/run.py docs\) -->\n(.*?)<!-- end generated -->\n", re.DOTALL
)


def test_a_generated_table_in_the_docs_is_its_file_and_its_run_still_gives_it():
    """docs/ embeds bench/run.py docs' tables verbatim; where the run's results are here, the
    table regenerated from them is the file (a stale table fails; CI has no results: skipped)."""
    import sys

    sys.path.insert(0, str(ROOT / "bench"))
    from docs import TABLES, learning_summary

    blocks = [m for page in DOCS for m in GENERATED.finditer(page.read_text())]
    assert blocks, "no generated table in the docs"
    stale, missing = [], []
    for block in blocks:
        table = ROOT / "docs" / block[1]
        assert block[2] == table.read_text(), f"{table.name} differs from its copy in the docs"
        campaign = re.match(r"<!-- source: results/(\S+) -->", table.read_text())[1]
        results = ROOT / "results" / campaign
        make = TABLES[table.stem.rsplit("-", 1)[1]]  # NAME-table.md: gain_table, ...
        if not (results / "metrics").is_dir():
            missing.append(campaign)
        elif make(learning_summary(results), campaign) != table.read_text():
            stale.append(table.name)
    assert not stale, f"stale against their results: {stale} (rerun bench/run.py docs)"
    if missing:
        pytest.skip(f"no results here to regenerate from: {missing}")
