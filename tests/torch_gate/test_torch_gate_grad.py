"""BFTGate gradients: replicated (default) and subgradient modes; short training runs."""

import runpy
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from openmoe_bft.torch import BFTGate  # noqa: E402
from openmoe_bft.torch.gate import _ReplicaRouting  # noqa: E402

pytestmark = pytest.mark.torch

H, E, T = 24, 8, 64
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "bft_gate_training.py"


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def make(replicas, seed=0, **kw):
    torch.manual_seed(seed)
    lin = torch.nn.Linear(H, E, bias=kw.pop("bias", False))
    return lin, BFTGate.from_router(lin, replicas=replicas, **kw)


def loss_of(out):
    # touch every differentiable output
    return (out.router_logits.square().mean() + out.topk_weights.sum() + out.combine_weights.square().sum()
            + out.aux_loss + out.z_loss)


def xs(seed=1, dtype=torch.float32):
    return torch.randn(T, H, generator=torch.Generator().manual_seed(seed), dtype=dtype).requires_grad_()


@pytest.mark.parametrize("replicas", [4, 7])
def test_replicated_grads_equal_the_single_routers_for_every_replica(replicas):
    _, single = make(1, bias=True)
    _, gate = make(replicas, bias=True)
    x1, x2 = xs(), xs()
    loss_of(single(x1)).backward()
    loss_of(gate(x2)).backward()
    for r in range(replicas):
        assert torch.equal(gate.weight.grad[r], single.weight.grad[0])
        assert torch.equal(gate.bias.grad[r], single.bias.grad[0])
    assert torch.equal(x2.grad, x1.grad)
    assert torch.isfinite(x2.grad).all() and x2.grad.abs().sum() > 0


def test_replicated_grads_stay_finite_and_honest_with_nan_and_huge_replicas():
    _, single = make(1)
    _, gate = make(7)
    with torch.no_grad():
        gate.weight[2].fill_(float("nan"))
        gate.weight[5].mul_(1e30)
    x1, x2 = xs(), xs()
    loss_of(single(x1)).backward()
    loss_of(gate(x2)).backward()
    assert torch.isfinite(gate.weight.grad).all()
    assert torch.equal(gate.weight.grad[0], single.weight.grad[0])
    assert torch.equal(x2.grad, x1.grad)  # the input sees the median of the weights: honest


def test_replicated_training_keeps_copies_identical():
    _, gate = make(4)
    gate.inject_fault(3, "noise")
    opt = torch.optim.Adam(gate.parameters(), lr=1e-2)
    for step in range(5):
        out = gate(xs(seed=step).detach())
        opt.zero_grad()
        loss_of(out).backward()
        opt.step()
    assert all(torch.equal(gate.weight[0], gate.weight[r]) for r in range(4))
    assert gate.stats().withheld == 0


@pytest.mark.parametrize("replicas", [1, 3, 4, 5])
@pytest.mark.parametrize("aggregate", ["median", "trimmed_mean"])
def test_subgradient_mode_passes_gradcheck(replicas, aggregate):
    torch.manual_seed(replicas)
    x = torch.randn(6, 5, dtype=torch.float64, requires_grad=True)
    w = torch.randn(replicas, 3, 5, dtype=torch.float64, requires_grad=True)
    b = torch.randn(replicas, 3, dtype=torch.float64, requires_grad=True)
    f = (replicas - 1) // 3

    def fn(x, w, b):
        return _ReplicaRouting.apply(x, w, b, aggregate, "subgradient", f, {})[0]

    assert torch.autograd.gradcheck(fn, (x, w, b))


@pytest.mark.parametrize("replicas", [3, 4, 7])
def test_subgradient_mode_matches_autograd_through_torch_sort(replicas):
    torch.manual_seed(0)
    gate = BFTGate(H, E, replicas, grad="subgradient", init="independent")
    x = xs()
    out = gate(x)
    g = torch.randn(T, E)
    (out.router_logits * g).sum().backward()
    w = gate.weight.detach().clone().requires_grad_()
    x2 = x.detach().clone().requires_grad_()
    s = torch.einsum("th,reh->rte", x2, w).sort(0).values
    ref = s[replicas // 2] if replicas % 2 else (s[replicas // 2 - 1] + s[replicas // 2]) / 2
    assert torch.allclose(out.router_logits, ref, atol=1e-5)
    (ref * g).sum().backward()
    assert torch.allclose(gate.weight.grad, w.grad, atol=1e-5)
    assert torch.allclose(x.grad, x2.grad, atol=1e-5)


def test_subgradient_mode_with_a_nan_replica_keeps_input_grads_finite():
    _, gate = make(4, grad="subgradient")
    with torch.no_grad():
        gate.weight[1].fill_(float("nan"))
    x = xs()
    loss_of(gate(x)).backward()
    assert torch.isfinite(x.grad).all() and torch.isfinite(gate.weight.grad).all()
    assert (gate.weight.grad[1] == 0).all()  # never selected: no gradient


def test_aux_and_z_losses_are_differentiable():
    _, gate = make(4)
    out = gate(xs())
    (out.aux_loss + out.z_loss).backward()
    assert gate.weight.grad.abs().sum() > 0


def test_example_training_bft_matches_clean_single_router_degrades():
    mod = runpy.run_path(str(EXAMPLE), run_name="example")
    n = torch.get_num_threads()
    res = mod["run"](steps=60)  # the fault hits at step 30
    assert torch.get_num_threads() == n
    clean, bft, single = (res[k]["losses"] for k in ("clean", "bft", "single"))
    assert bft == clean  # bit for bit: the BFT gate's aggregate is the honest router's logits
    assert res["bft"]["withheld"] == 0 and res["bft"]["stats"].flagged_replicas == (3,)
    assert clean[-1] < clean[0] / 4  # it trains
    after = slice(45, 60)
    assert sum(single[after]) > 1.5 * sum(clean[after])  # the lone faulty router degrades
