"""Rewriting one generated section of a Markdown page (a module of the benchmark scripts, not a script).

Each benchmark script owns the part of a page between its two HTML-comment
markers; a rerun replaces that part and nothing else. A hand-written block
inside it, between its own pair of markers, survives the rerun.
"""

from __future__ import annotations

from pathlib import Path


def replace_section(path: Path, start: str, end: str, text: str, notes: tuple[str, str] | None = None) -> None:
    """Put ``text`` (which carries both markers) in place of ``start``...``end`` in ``path``.

    Without the markers in the page, ``text`` is appended. ``notes``: the markers of a
    hand-written block inside the old section, kept just before ``end``.
    """
    doc = path.read_text()
    if start in doc and end in doc:
        old = doc[doc.index(start) : doc.index(end)]
        if notes is not None and notes[0] in old and notes[1] in old:
            kept = old[old.index(notes[0]) : old.index(notes[1]) + len(notes[1])]
            text = text.replace(end, kept + "\n" + end)
        doc = doc[: doc.index(start)] + text + doc[doc.index(end) + len(end) :]
    else:
        doc = doc.rstrip("\n") + "\n\n" + text.rstrip("\n") + "\n"
    path.write_text(doc)
