"""Reading programs: lexer, grammar, terms and the printer.

Importing the package installs the printer as the text form of terms (``str(term)``),
so terms never import the printer.
"""

from . import printing as _printing  # noqa: F401 - registers format_term with the terms
