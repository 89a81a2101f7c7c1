"""Silent data corruption: the patched model's outputs stay equal to the clean model's
while an unpatched model with the same corruption diverges."""

import copy

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from _hf_tiny import FAMILIES, build, run  # noqa: E402

from openmoe_bft.faults import (  # noqa: E402
    KINDS,
    SDCFault,
    _unpatched_hook,
    corrupt_,
    exponent_bit,
    inject,
)
from openmoe_bft.hf import patch_moe_gates  # noqa: E402
from openmoe_bft.hf._families import family_of  # noqa: E402

pytestmark = pytest.mark.torch

FAULTS = [SDCFault(k, t, rate=1.0 if k in ("zero", "saturate") else 0.1, seed=3)
          for k in KINDS for t in ("weights", "activations") if not (k == "target" and t == "weights")]


def _diverges(a, b):
    return not torch.equal(a, b)


@pytest.fixture(scope="module")
def trio():
    """family -> (patched model + handle, unpatched twin, clean logits)."""
    out = {}
    for fam in FAMILIES:
        model = build(fam, seed=11)
        clean = run(model, fam).logits
        twin = copy.deepcopy(model)
        handle = patch_moe_gates(model, replicas=4)
        out[fam] = (model, handle, twin, clean)
    return out


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f"{f.kind}-{f.target}")
@pytest.mark.parametrize("family", ["mixtral", "switch_transformers"])
def test_one_corrupted_replica_changes_nothing(trio, family, fault):
    model, handle, twin, clean = trio[family]
    handle.reset_stats()
    with inject(handle, fault), inject(twin, fault):
        patched = run(model, family).logits
        unpatched = run(twin, family).logits
        stats = handle.stats()
    assert torch.equal(patched, clean)
    assert _diverges(unpatched, clean)
    assert stats.withheld == 0
    if fault.kind != "zero":  # all-zero logits tie everywhere: they support any choice, nothing to flag
        assert set(stats.flagged.values()) == {(0,)}
    # undo is exact
    assert torch.equal(run(twin, family).logits, clean) and torch.equal(run(model, family).logits, clean)


@pytest.mark.parametrize("family", ["qwen2_moe", "qwen3_moe", "olmoe"])
def test_exponent_flips_in_every_family(trio, family):
    model, handle, twin, clean = trio[family]
    for target in ("weights", "activations"):
        fault = SDCFault("exponent", target, rate=0.05, seed=1)
        with inject(handle, fault, replicas=[2]), inject(twin, fault):
            assert torch.equal(run(model, family).logits, clean)
            assert _diverges(run(twin, family).logits, clean)


def test_f_colluding_replicas_are_tolerated_and_more_are_withheld_not_misrouted():
    model = build("mixtral", seed=5)
    clean = run(model, "mixtral", output_router_logits=True)
    fault = SDCFault("target", "activations", expert=3)
    with patch_moe_gates(model, replicas=7) as handle:  # f = 2, threshold 5
        with inject(handle, fault, replicas=[1, 4]):
            assert torch.equal(run(model, "mixtral").logits, clean.logits)
            assert all(s.flagged_replicas == (1, 4) for s in handle.stats().layers)
        handle.reset_stats()
        with inject(handle, fault, replicas=[0, 1, 2]):  # 3 > f colluders: no quorum for the honest set
            got = run(model, "mixtral", output_router_logits=True)
            stats = handle.stats()
            assert stats.withheld > 0
            # first MoE layer: the aggregate (median) is still the honest logits (4 identical
            # honest copies of 7), so nothing is misrouted; withheld tokens take the residual path
            assert torch.equal(got.router_logits[0], clean.router_logits[0])
            assert not torch.equal(got.logits, clean.logits)


def test_unpatched_hook_reproduces_hf_outputs_exactly():
    # the hook that corrupts an unpatched router's logits recomputes HF's outputs; with a
    # no-op corruption it must be HF's forward bit for bit (all families)
    for fam in FAMILIES:
        model = build(fam, seed=2)
        want = run(model, fam, output_router_logits=True)
        hooks = [m.register_forward_hook(_unpatched_hook(family_of(m), lambda t: None))
                 for m in model.modules() if family_of(m) is not None]
        got = run(model, fam, output_router_logits=True)
        for h in hooks:
            h.remove()
        assert torch.equal(got.logits, want.logits), fam


def test_corrupt_kinds_on_a_known_tensor():
    base = torch.tensor([0.1, -3.0, 2.5, 0.0, 1.0, -0.5, 7.0, 0.25])
    gen = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    t = base.clone()
    assert corrupt_(t, "sign", rate=1.0, generator=gen()) == 8
    assert torch.equal(t[base != 0], -base[base != 0]) and t[3].item() == 0 and torch.signbit(t[3])
    t = base.clone()
    corrupt_(t, "exponent", rate=1.0, generator=gen())
    assert exponent_bit(torch.float32) == 30 and abs(t[0].item()) > 1e37 and abs(t[1].item()) < 1e-37
    t = base.clone()
    n = corrupt_(t, "random", rate=0.5, generator=gen())
    diff = (t.view(torch.int32) ^ base.view(torch.int32))
    flipped = [bin(int(x) & 0xFFFFFFFF).count("1") for x in diff]
    assert n == 4 and sorted(flipped) == [0, 0, 0, 0, 1, 1, 1, 1]
    t2 = base.clone()
    corrupt_(t2, "random", rate=0.5, generator=gen())
    assert torch.equal(t2.view(torch.int32), t.view(torch.int32))  # seeded
    t = base.clone()
    corrupt_(t, "saturate", rate=1.0, generator=gen())
    big = torch.finfo(torch.float32).max
    assert torch.equal(t, torch.where(base < 0, -big, big))
    t = base.clone()
    assert corrupt_(t, "zero", rate=0.01, generator=gen()) == 1 and int((t == 0).sum()) in (1, 2)
    logits = torch.randn(5, 4)
    corrupt_(logits, "target", expert=2)
    assert logits.argmax(-1).tolist() == [2] * 5
    for dtype in (torch.bfloat16, torch.float16, torch.float64):
        t = base.to(dtype)
        corrupt_(t, "sign", rate=1.0, generator=gen())
        assert torch.equal(t[base != 0], -base.to(dtype)[base != 0])


def test_injection_undo_and_report(trio):
    model, handle, twin, clean = trio["mixtral"]
    w = handle.gate(1).weight.detach().clone()
    inj = inject(handle, SDCFault("random", rate=0.5, seed=9), layers=[1], replicas=[0, 3])
    assert inj.layers == ("model.layers.1.mlp.gate",) and inj.replicas == (0, 3)
    g = handle.gate(1).weight
    assert torch.equal(g[0], g[3]) and not torch.equal(g[0], w[0]) and torch.equal(g[1], w[1])
    assert inj.to_dict()["fault"]["kind"] == "random" and inj.active
    inj.undo()
    inj.undo()
    assert torch.equal(handle.gate(1).weight, w) and not inj.active
    assert torch.equal(handle.gate(0).weight, handle.gate(0).weight[0].expand(4, -1, -1))


def test_gate_custom_fault_mode():
    from openmoe_bft.errors import InvalidInput
    from openmoe_bft.torch import BFTGate

    gate = BFTGate(16, 6, replicas=4, k=2)
    x = torch.randn(20, 16, generator=torch.Generator().manual_seed(0))
    want = gate(x)
    with pytest.raises(InvalidInput, match="fn"):
        gate.inject_fault(0, "custom")
    with pytest.raises(InvalidInput, match="fn"):
        gate.inject_fault(0, "zero", fn=lambda t: None)
    seen = []
    gate.inject_fault(1, "custom", fn=lambda t: (seen.append(tuple(t.shape)), t.neg_()))
    out = gate(x)
    assert seen == [(20, 6)] and out.flagged_replicas == (1,)
    assert torch.equal(out.topk_ids, want.topk_ids) and torch.equal(out.router_logits, want.router_logits)


def test_stats_are_json(trio):
    import json

    _, handle, _, _ = trio["olmoe"]
    d = handle.stats().to_dict()
    assert json.loads(json.dumps(d)) == d and len(d["layers"]) == 2
