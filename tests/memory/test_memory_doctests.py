"""The examples in the memory package's docstrings run as written."""

import doctest
import importlib

import pytest


@pytest.mark.parametrize("name", ["openmoe_bft.memory", "openmoe_bft.memory.sealing"])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0
