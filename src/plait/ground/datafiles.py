r"""Facts from data files: ``csv_load/2`` (a CSV file's rows) and ``sqlite_load/1`` (an SQLite file's tables).

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "people.csv"
>>> _ = path.write_text("name,age\nann,31\n")
>>> [str(f) for f in csv_facts(path, "person")]
['person(ann,31)']
"""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

from ..errors import ProgramError
from ..syntax.terms import Float, Int, Struct, Term

__all__ = ["csv_facts", "sqlite_facts"]


def csv_facts(path: Path, pred: str) -> list[Struct]:
    """One fact ``pred(...)`` per data row (the first row is the header)."""
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    return [Struct(pred, tuple(_csv_value(v) for v in row)) for row in rows[1:]]


def _csv_value(v: str) -> Term:
    v = v.strip()
    try:
        return Int(int(v))
    except ValueError:
        pass
    try:
        return Float(float(v))
    except ValueError:
        pass
    if v.startswith("'") and v.endswith("'") and len(v) >= 2:
        v = v[1:-1]
    return Struct(v)


def sqlite_facts(path: Path) -> list[Struct]:
    """Every table of the SQLite file becomes a predicate of facts (read-only access)."""
    facts: list[Struct] = []
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            for table in tables:
                quoted = '"' + table.replace('"', '""') + '"'
                for row in con.execute(f"SELECT * FROM {quoted}"):
                    facts.append(Struct(table, tuple(_sql_value(v) for v in row)))
        finally:
            con.close()
    except sqlite3.Error as e:
        raise ProgramError(f"sqlite_load: cannot read '{path}': {e}") from e
    return facts


def _sql_value(v: object) -> Term:
    if isinstance(v, bool):
        return Int(int(v))
    if isinstance(v, int):
        return Int(v)
    if isinstance(v, float):
        return Float(v)
    return Struct(str(v))
