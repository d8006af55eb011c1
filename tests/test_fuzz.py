"""Property-based tests: garbage in gives a parse error (or a program), never a crash."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import plait
from plait.errors import PlaitError

TOKENS = [
    "p",
    "q(",
    "X",
    "_",
    "0.3",
    "::",
    ":-",
    "<-",
    ",",
    ";",
    ".",
    " ",
    "\n",
    "(",
    ")",
    "[",
    "]",
    "|",
    "\\+",
    "not",
    "is",
    "=",
    "\\=",
    "==",
    "+",
    "-",
    "*",
    "/",
    "1",
    "'a b'",
    '"s"',
    "%c\n",
    "/*",
    "*/",
    "query(",
    "evidence(",
    "nn(",
    "t(",
    "0x1F",
    "1.5e3",
    "->",
    "!",
    "@<",
    "=..",
    "&",
    "0'a",
    "\t",
]

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.binary(max_size=200))
def test_random_bytes_only_parse_errors(data: bytes):
    text = data.decode("utf-8", errors="replace")
    try:
        plait.parse_program(text)
    except plait.ParseError as e:
        assert e.message
        if e.span is not None:
            e.render()
    except PlaitError:
        pass  # e.g. a well-formed but invalid clause head: still a located, typed error


@SETTINGS
@given(st.lists(st.sampled_from(TOKENS), max_size=40))
def test_token_soup_only_parse_errors(tokens: list[str]):
    text = "".join(tokens)
    try:
        plait.parse_program(text)
    except plait.ParseError as e:
        assert e.message
        e.render()
    except PlaitError:
        pass


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=30))
def test_token_soup_through_the_whole_pipeline(tokens: list[str]):
    text = "".join(tokens)
    try:
        plait.Program.from_string(text, limits=plait.Limits(timeout=5.0)).query()
    except PlaitError as e:
        e.render()


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=80))
def test_random_text_terms(text: str):
    try:
        plait.parse_term(text)
    except PlaitError:
        pass


@pytest.mark.parametrize("text", ["p(\u00b9).", "X is 1 + \u0663.", "\u00c9 = 1.", "p :- '\\q'.", "0'"])
def test_non_ascii_and_odd_escapes_are_parse_errors(text: str):
    with pytest.raises(PlaitError):
        plait.parse_program(text)
