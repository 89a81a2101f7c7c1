"""BFTGate: bad input is refused with typed errors naming the argument."""

import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

from openmoe_bft.errors import InvalidInput, InvalidType  # noqa: E402
from openmoe_bft.torch import BFTGate, TinyMoE  # noqa: E402

pytestmark = pytest.mark.torch

H, E = 16, 8


def gate(**kw):
    torch.manual_seed(0)
    return BFTGate(H, E, kw.pop("replicas", 4), **kw)


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"replicas": 3, "f": 1}, "f"),
        ({"replicas": 4, "f": 2}, "f"),
        ({"replicas": 7, "f": 3}, "f"),
        ({"f": -1}, "f"),
        ({"f": True}, "f"),
        ({"replicas": 0}, "replicas"),
        ({"replicas": True}, "replicas"),
        ({"replicas": 2.0}, "replicas"),
        ({"k": 0}, "k"),
        ({"k": E + 1}, "k"),
        ({"aggregate": "mean"}, "aggregate"),
        ({"grad": "straight_through"}, "grad"),
        ({"init": "zeros"}, "init"),
        ({"dtype": torch.int64}, "dtype"),
    ],
)
def test_bad_construction(kwargs, argument):
    with pytest.raises(InvalidInput) as e:
        gate(**kwargs)
    assert e.value.argument == argument and isinstance(e.value, ValueError)


def test_f_too_large_message_says_how_many_replicas_are_needed():
    with pytest.raises(InvalidInput, match=r"at most 0 .*replicas >= 3f \+ 1 = 4"):
        gate(replicas=3, f=1)


def test_smaller_f_lowers_nothing_below_a_strict_majority():
    g = gate(replicas=7, f=1)
    assert (g.f, g.threshold) == (1, 4)
    g = gate(replicas=4, f=0)
    assert g.threshold == 3


@pytest.mark.parametrize(
    "x, err",
    [
        ([[0.0] * H], InvalidType),  # not a tensor
        (torch.zeros(5, H, dtype=torch.int64), InvalidType),
        (torch.zeros(H), InvalidInput),  # rank 1
        (torch.zeros(5, H + 1), InvalidInput),
        (torch.zeros(2, 5, H - 1), InvalidInput),
    ],
)
def test_bad_hidden_states(x, err):
    with pytest.raises(err) as e:
        gate()(x)
    assert e.value.argument == "hidden_states"


def test_mixed_dtype_is_a_clear_type_error():
    with pytest.raises(InvalidType, match=r"dtype torch.float64 .* torch.float32") as e:
        gate()(torch.zeros(5, H, dtype=torch.float64))
    assert e.value.argument == "hidden_states" and isinstance(e.value, TypeError)


def test_mixed_device_is_a_clear_error():
    x = torch.zeros(5, H, device="meta")
    with pytest.raises(InvalidInput, match=r"on meta but the gate's replica weights are on cpu") as e:
        gate()(x)
    assert e.value.argument == "hidden_states"


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_hidden_states_are_bad_input(bad):
    x = torch.randn(10, H)
    x[7, 3] = bad
    g = gate()
    with pytest.raises(InvalidInput, match="token 7 .* NaN or inf") as e:
        g(x)
    assert e.value.argument == "hidden_states"
    assert g.stats().tokens == 0  # nothing counted for a refused batch
    out = gate(check_inputs=False)(x)  # opt out: the token is withheld instead
    assert out.withheld.tolist() == [i == 7 for i in range(10)]


def test_all_replicas_nan_is_a_fault_not_bad_input():
    g = gate()
    for r in range(4):
        g.inject_fault(r, "nan")
    out = g(torch.randn(10, H))
    assert out.withheld.all() and out.stats().abstentions == (10,) * 4


def test_bad_faults():
    g = gate()
    with pytest.raises(InvalidInput) as e:
        g.inject_fault(4, "nan")
    assert e.value.argument == "replica"
    with pytest.raises(InvalidInput):
        g.inject_fault(True, "nan")
    with pytest.raises(InvalidInput) as e:
        g.inject_fault(0, "explode")
    assert e.value.argument == "mode"
    with pytest.raises(InvalidInput) as e:
        g.inject_fault(0, "target")
    assert e.value.argument == "experts"
    with pytest.raises(InvalidInput):
        g.inject_fault(0, "target", experts=[E])
    with pytest.raises(InvalidInput) as e:
        g.inject_fault(0, "scale", scale=float("inf"))
    assert e.value.argument == "scale"
    with pytest.raises(InvalidInput):
        g.clear_faults(9)
    assert dict(g.faults) == {}


def test_bad_routers():
    with pytest.raises(InvalidType) as e:
        BFTGate.from_router(torch.nn.ReLU())
    assert e.value.argument == "router"
    with pytest.raises(InvalidType):
        BFTGate.from_router(torch.nn.Conv1d(3, 4, 1))  # 3-D weight
    with pytest.raises(InvalidInput):
        TinyMoE(H, E, gate=BFTGate(H + 1, E))
    with pytest.raises(InvalidInput):
        TinyMoE(H, E, gate=torch.nn.Linear(H, E))


def test_import_without_torch_says_how_to_install():
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "try:\n    import openmoe_bft.torch\n"
        "except ImportError as e:\n    print(type(e).__name__, e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "pip install 'openmoe-bft[torch]'" in out
