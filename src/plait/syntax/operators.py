"""The operator table of the plait/ProbLog dialect (priority, type).

Used by the printer to decide where parentheses go; the grammar file encodes
the same table as precedence levels.
"""

from __future__ import annotations

BINARY: dict[str, tuple[int, str]] = {
    ":-": (1200, "xfx"),
    "<-": (1200, "xfx"),
    "-->": (1200, "xfx"),
    ";": (1100, "xfy"),
    "|": (1100, "xfy"),
    "->": (1050, "xfy"),
    "*->": (1050, "xfy"),
    ",": (1000, "xfy"),
    "::": (1000, "xfx"),
    "&": (1000, "xfy"),
    "=": (700, "xfx"),
    "\\=": (700, "xfx"),
    "==": (700, "xfx"),
    "\\==": (700, "xfx"),
    "@<": (700, "xfx"),
    "@>": (700, "xfx"),
    "@=<": (700, "xfx"),
    "@>=": (700, "xfx"),
    "=..": (700, "xfx"),
    "is": (700, "xfx"),
    "=:=": (700, "xfx"),
    "=\\=": (700, "xfx"),
    "<": (700, "xfx"),
    ">": (700, "xfx"),
    "=<": (700, "xfx"),
    ">=": (700, "xfx"),
    "=@=": (700, "xfx"),
    "\\=@=": (700, "xfx"),
    "=>": (700, "xfx"),
    "as": (700, "xfx"),
    ":": (600, "xfy"),
    "+": (500, "yfx"),
    "-": (500, "yfx"),
    "/\\": (500, "yfx"),
    "\\/": (500, "yfx"),
    "xor": (500, "yfx"),
    "..": (500, "yfx"),
    "*": (400, "yfx"),
    "/": (400, "yfx"),
    "//": (400, "yfx"),
    "rem": (400, "yfx"),
    "mod": (400, "yfx"),
    "div": (400, "yfx"),
    "rdiv": (400, "yfx"),
    "<<": (400, "yfx"),
    ">>": (400, "yfx"),
    "**": (200, "xfx"),
    "^": (400, "xfy"),  # ProbLog's priority, not ISO's 200
}

PREFIX: dict[str, tuple[int, str]] = {
    ":-": (1200, "fx"),
    "?-": (1200, "fx"),
    "\\+": (900, "fy"),
    "not": (900, "fy"),
    "-": (200, "fy"),
    "+": (200, "fy"),
    "\\": (200, "fy"),
}
