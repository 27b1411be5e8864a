"""The documentation says what the code does: every pair_style keyword the parser accepts is
in the doc page's Syntax section, and the README's first screen has the two commands."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_pair_style_doc_lists_every_keyword():
    src = (ROOT / "src" / "pair_umlip.cpp").read_text()
    settings = src[src.index("void PairUMLIP::settings"):src.index("std::string PairUMLIP::resolve_model")]
    keywords = set(re.findall(r'key == "([a-z_]+)"', settings))
    values = set(re.findall(r'val == "([a-z0-9_]+)"', settings))
    assert {"device", "dtype", "threads", "ghost", "prune"} <= keywords
    doc = (ROOT / "docs" / "pair_umlip.rst").read_text()
    syntax = doc[doc.index("Syntax"):doc.index("Examples")]
    for kw in keywords:
        assert f"*{kw}*" in syntax, f"keyword {kw} missing from the Syntax section"
    for val in values:
        assert f"*{val}*" in syntax or val in syntax, f"value {val} missing from Syntax"


def test_readme_first_screen():
    first_screen = "\n".join((ROOT / "README.md").read_text().splitlines()[:40])
    assert "make demo" in first_screen and "make test" in first_screen


def test_ci_runs_make_test():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci
