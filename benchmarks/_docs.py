"""Shared by the benchmark scripts: write a generated block into a Markdown file."""

from __future__ import annotations

from pathlib import Path


def splice_block(path: Path, name: str, md: str, heading: str) -> None:
    """Put ``md`` between ``<!-- name:start -->`` and ``<!-- name:end -->`` in ``path``; if the
    markers are missing, append them under a new ``## heading``."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = path.read_text()
    block = f"{start}\n{md}{end}"
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + f"\n\n## {heading}\n\n" + block + "\n"
    path.write_text(text)
