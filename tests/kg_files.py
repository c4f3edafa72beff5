"""Where the project describes a subject, found from the files rather than hard-coded, so that tests
survive a steward moving statements between files of kg/."""

from __future__ import annotations

import re
from pathlib import Path


def described_in(root: Path, slug: str) -> tuple[Path, int]:
    """The kg/ file (relative to root) whose statement `kg:<slug> a …` types the subject, and the
    line that statement starts on."""
    typed = re.compile(rf"^kg:{re.escape(slug)}\s+a\s", re.MULTILINE)
    found = []
    for path in sorted((root / "kg").rglob("*.ttl")):
        text = path.read_text(encoding="utf-8")
        match = typed.search(text)
        if match:
            found.append((path.relative_to(root), text.count("\n", 0, match.start()) + 1))
    assert len(found) == 1, f"kg:{slug} is typed in {len(found)} files: {found}"
    return found[0]
