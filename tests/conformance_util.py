"""Reading the expected outcomes of the ProbLog conformance corpus (format in its README)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from plait.errors import PlaitError
from plait.syntax.parser import parse_term
from plait.syntax.printing import format_term
from plait.syntax.terms import Struct, Term, Var

SHARED = Path(__file__).resolve().parents[2] / "shared"
CORPUS = SHARED / "conformance" / "problog"


@dataclass
class Expected:
    error: str | None
    values: dict[str, float]


_NUM = r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)"


def read_expected(path: Path) -> Expected | None:
    text = path.read_text()
    values: dict[str, float] = {}
    error = None
    lines = text.splitlines()
    found = False
    for i, line in enumerate(lines):
        if re.match(r"^\s*%\s*Expected outcome", line, re.I) and not line.lstrip().startswith("% %"):
            found = True
            for follow in lines[i + 1 :]:
                m = re.match(r"^\s*%\s*(.*)$", follow)
                if not m:
                    break
                body = m.group(1).strip()
                if not body:
                    continue
                em = re.match(r"^(?:Error:?|ERROR:?)\s*(\w+)", body)
                if em:
                    error = em.group(1)
                    break
                vm = re.match(rf"^(.*\S)\s+({_NUM})\s*$", body)
                if vm:
                    values[normalize_atom(vm.group(1))] = float(vm.group(2))
                else:
                    break
    for line in lines:
        m = re.match(rf"^\s*query\((.*)\)\.\s*%\s*outcome:\s*({_NUM})\s*$", line)
        if m:
            found = True
            values[normalize_atom(m.group(1))] = float(m.group(2))
    if not found:
        return None
    return Expected(error, values)


def _rename(t: Term, names: dict[Var, Var]) -> Term:
    if isinstance(t, Var):
        if t not in names:
            names[t] = Var(f"V{len(names)}")
        return names[t]
    if isinstance(t, Struct) and t.args:
        return Struct(t.functor, tuple(_rename(a, names) for a in t.args))
    return t


def normalize_atom(text: str) -> str:
    """Canonical text of an atom: parsed and re-printed with variables renamed V0, V1, ..."""
    try:
        t = parse_term(text)
    except PlaitError:
        return re.sub(r"\s+", "", re.sub(r"\b[A-Z_][A-Za-z0-9_]*\b", "V", text))
    return format_term(_rename(t, {}))
