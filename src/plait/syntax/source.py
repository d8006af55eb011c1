"""Reading program text from files: UTF-8, with a located error for anything else."""

from __future__ import annotations

from pathlib import Path

from ..errors import ParseError, ProgramError, SourceSpan

__all__ = ["read_source", "decode_source"]


def decode_source(data: bytes, filename: str = "<string>") -> str:
    """Decode program bytes as UTF-8; a bad byte is a :class:`ParseError` at its line and column.

    >>> decode_source(b"a.\\n")
    'a.\\n'
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        # the error is located in characters of the valid prefix, so line and column match what an
        # editor shows; the rest of the text is decoded leniently only to render the excerpt
        good = data[: e.start].decode("utf-8")
        shown = good + data[e.start :].decode("utf-8", errors="replace")
        raise ParseError(
            f"the program is not valid UTF-8: byte 0x{data[e.start]:02x} cannot start or continue a character",
            SourceSpan(shown, len(good), len(good) + 1, filename),
            "save the file as UTF-8 (e.g. 'iconv -f latin1 -t utf-8'); non-ASCII text belongs in quoted atoms or strings",
        ) from None


def read_source(path: str | Path, what: str = "read") -> str:
    """The text of a program file; unreadable files and non-UTF-8 bytes are clear plait errors."""
    p = Path(path)
    if p.is_dir():
        raise ProgramError(f"cannot {what} {p}: it is a directory", None, "give the path of a .pl file")
    try:
        data = p.read_bytes()
    except OSError as e:
        raise ProgramError(f"cannot {what} {p}: {e.strerror or e}", None, "check the path and its permissions") from e
    return decode_source(data, str(p))
