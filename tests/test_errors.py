import pytest

from openmoe_bft import errors
from openmoe_bft.errors import InvalidInput, InvalidType, NoConsensusError, OpenMoEBFTError


def test_hierarchy_is_one_tree_and_keeps_builtin_bases():
    assert issubclass(InvalidInput, OpenMoEBFTError) and issubclass(InvalidInput, ValueError)
    assert issubclass(InvalidType, InvalidInput) and issubclass(InvalidType, TypeError)
    assert issubclass(NoConsensusError, OpenMoEBFTError)
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), OpenMoEBFTError)


def test_invalid_input_names_the_argument():
    exc = InvalidInput("expected at least 1 node, got 0", argument="n")
    assert exc.argument == "n"
    assert str(exc) == "n: expected at least 1 node, got 0"
    assert exc.diagnostics() == str(exc)


def test_no_consensus_error_carries_settlement_and_decision():
    exc = NoConsensusError("split", settlement="S", decision="D")
    assert (exc.settlement, exc.decision) == ("S", "D")
    assert "Nothing was dispatched" in exc.diagnostics()
    with pytest.raises(RuntimeError):
        raise exc


def test_missing_dependency_require_imports_or_names_the_extra():
    import json

    from openmoe_bft.errors import MissingDependency

    assert MissingDependency.require("json", purpose="x", extra="y") is json
    with pytest.raises(MissingDependency, match=r"a thing needs no_such_mod_xyz: pip install "
                                                r"'openmoe-bft\[red-team\]'") as info:
        MissingDependency.require("no_such_mod_xyz.sub", purpose="a thing", extra="red-team")
    assert isinstance(info.value, ImportError) and info.value.__cause__ is not None
