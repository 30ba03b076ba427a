"""The simulator's rules are listed twice, in its docstring and in the README: they must agree."""

from __future__ import annotations

import re
from pathlib import Path

import binance_instloan.simulator

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
_SECTION = re.compile(r"§(\d+(?:\.\d+)?)")


def _simulator_section() -> str:
    start = README.index("\n## Testing your bot against the simulator\n")
    return README[start: README.index("\n## ", start + 1)]


def test_the_readme_and_the_simulator_docstring_cite_the_same_reference_sections() -> None:
    docstring = binance_instloan.simulator.__doc__ or ""

    cited_in_readme = set(_SECTION.findall(_simulator_section()))
    cited_in_docstring = set(_SECTION.findall(docstring))

    assert cited_in_readme == cited_in_docstring
    assert {"1.4", "1.5", "1.7", "2.11"} <= cited_in_docstring
