"""The docs stand alone: every file and link they name exists in the repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
_TOP = ("src/", "sql/", "docs/", "tests/", "bench/", "notebooks/", "scripts/")
_PATH = re.compile(r"`((?:" + "|".join(map(re.escape, _TOP)) + r")[A-Za-z0-9_./*-]+)`")
_LINK = re.compile(r"\]\(([^)#:]+)(?:#[^)]*)?\)")


def _exists(text: str, base: Path) -> bool:
    candidate = text.rstrip("/")
    if "*" in candidate:
        return any(base.glob(candidate)) or any(ROOT.glob(candidate))
    return (base / candidate).exists() or (ROOT / candidate).exists()


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_named_path_and_link_exists(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    missing = [p for p in _PATH.findall(text) if "<" not in p and not _exists(p, ROOT)]
    missing += [link for link in _LINK.findall(text) if not _exists(link, doc.parent)]
    assert not missing, f"{doc.name} names files the repository does not have: {missing}"


def test_the_architecture_lists_the_concepts_a_reader_looks_for() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for concept, module in (
        ("block-rate guardrail", "analysis/guardrails.py"),
        ("cost per incremental conversion", "analysis/cost.py"),
        ("messaging-limit reach", "analysis/reach.py"),
        ("eligibility", "assign/eligibility.py"),
        ("24-hour customer-service window", "analysis/windows.py"),
    ):
        row = next((line for line in text.splitlines() if concept in line and "|" in line), None)
        assert row is not None, f"architecture.md has no row for {concept!r}"
        assert module in row, f"{concept!r} should point at {module}: {row}"
        assert (ROOT / "src" / "threadlift" / module).is_file()


def test_no_file_cites_a_design_document_the_repository_does_not_have() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    citing = [
        name
        for name in tracked
        if (ROOT / name).is_file()
        and name != "tests/test_docs.py"
        and "DESIGN.md" in (ROOT / name).read_text(encoding="utf-8", errors="replace")
    ]
    assert not citing, citing
