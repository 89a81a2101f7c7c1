"""BFTGate: equivalence with a plain router, fault tolerance, collusion bounds, stats."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from openmoe_bft.bft import decision_threshold, tolerated_faults  # noqa: E402
from openmoe_bft.torch import BFTGate, GateStats, TinyMoE  # noqa: E402

pytestmark = pytest.mark.torch

H, E, T = 48, 16, 300


@pytest.fixture(autouse=True)
def _one_thread():
    # tiny tensors: one thread is faster and immune to oversubscription on shared cores
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def router(bias=False, seed=0, h=H, e=E):
    torch.manual_seed(seed)
    return torch.nn.Linear(h, e, bias=bias)


def tokens(seed=1, t=T, h=H, dtype=torch.float32):
    return torch.randn(t, h, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def reference(lin, x, k, normalize=True):
    """A plain router: linear, top-k of the logits, softmax weights (Mixtral-style)."""
    logits = lin(x)
    ids = torch.topk(logits, k, dim=-1).indices
    w = torch.softmax(logits, dim=-1).gather(1, ids)
    if normalize:
        w = w / w.sum(-1, keepdim=True)
    return logits, ids, w


def assert_same_routing(out, ref_out):
    for name in ("router_logits", "topk_ids", "topk_weights", "dispatch_mask", "combine_weights",
                 "withheld", "aux_loss", "z_loss"):
        assert torch.equal(getattr(out, name), getattr(ref_out, name)), name


# --------------------------------------------------------------------------- equivalence


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("k", [1, 2, 4])
@pytest.mark.parametrize("normalize", [True, False])
def test_one_replica_is_exactly_a_linear_router_plus_topk(bias, k, normalize):
    lin = router(bias)
    x = tokens()
    gate = BFTGate.from_router(lin, replicas=1, k=k, normalize_topk=normalize)
    out = gate(x)
    logits, ids, w = reference(lin, x, k, normalize)
    assert torch.equal(out.router_logits, logits)
    assert torch.equal(out.topk_ids, ids)
    assert torch.equal(out.topk_weights, w)
    assert torch.equal(out.combine_weights, torch.zeros(T, E).scatter(1, ids, w))
    assert torch.equal(out.dispatch_mask, torch.zeros(T, E, dtype=torch.bool).scatter(1, ids, True))
    assert not out.withheld.any() and out.votes.tolist() == [1] * T
    # Switch load balancing, 1.0 = balanced; ST-MoE z-loss
    probs = torch.softmax(logits, -1)
    frac = out.dispatch_mask.float().sum(0) / (T * k)
    assert torch.allclose(out.aux_loss, E * (frac * probs.mean(0)).sum())
    assert torch.allclose(out.z_loss, torch.logsumexp(logits, -1).square().mean())


@pytest.mark.parametrize("replicas", [2, 3, 4, 5, 7, 10, 19])
@pytest.mark.parametrize("bias", [False, True])
def test_exact_copies_are_bit_equal_to_the_single_router(replicas, bias):
    lin = router(bias)
    x = tokens()
    single = BFTGate.from_router(lin, replicas=1)(x)
    gate = BFTGate.from_router(lin, replicas=replicas)
    out = gate(x)
    assert_same_routing(out, single)
    assert out.votes.tolist() == [replicas] * T
    assert out.num_withheld == 0 and out.flagged_replicas == ()
    assert (out.threshold, out.f) == (decision_threshold(replicas), tolerated_faults(replicas))


def test_default_init_is_copies_and_independent_init_is_not():
    torch.manual_seed(0)
    g = BFTGate(H, E, 4)
    assert all(torch.equal(g.weight[0], g.weight[r]) for r in range(4))
    assert g(tokens()).num_withheld == 0
    torch.manual_seed(0)
    g = BFTGate(H, E, 4, init="independent", bias=True)
    assert not torch.equal(g.weight[0], g.weight[1]) and not torch.equal(g.bias[0], g.bias[1])


def test_leading_dims_are_flattened():
    lin = router()
    x = tokens().view(3, 100, H)
    out = BFTGate.from_router(lin, replicas=4)(x)
    assert out.router_logits.shape == (T, E) and out.topk_ids.shape == (T, 2)
    assert torch.equal(out.topk_ids, reference(lin, x.view(T, H), 2)[1])


def test_empty_batch():
    out = BFTGate.from_router(router(), replicas=4)(torch.empty(0, H))
    assert out.topk_ids.shape == (0, 2) and out.num_withheld == 0 and float(out.aux_loss.detach()) == 0.0


@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16])
def test_other_dtypes(dtype):
    lin = router().to(dtype)
    x = tokens(dtype=dtype)
    out = BFTGate.from_router(lin, replicas=4)(x)
    assert out.router_logits.dtype == dtype
    assert out.topk_weights.dtype == (torch.float64 if dtype == torch.float64 else torch.float32)
    assert torch.equal(out.router_logits, lin(x))
    assert out.num_withheld == 0  # bf16 logits tie often: ties count as support


def test_copies_of_a_zero_router_agree_despite_total_ties():
    lin = router()
    torch.nn.init.zeros_(lin.weight)  # Qwen-MoE style init: every logit ties
    out = BFTGate.from_router(lin, replicas=4)(tokens())
    assert out.num_withheld == 0 and out.votes.tolist() == [4] * T


# --------------------------------------------------------------------------- faults


LOUD_FAULTS = [
    ("sign_flip", {}),
    ("scale", {"scale": -1e6}),
    ("noise", {"scale": 3.0}),
    ("nan", {}),
    ("inf", {}),
    ("target", {"experts": [5, 9]}),
]


@pytest.mark.parametrize("replicas", [4, 7, 10])
@pytest.mark.parametrize("mode, kw", LOUD_FAULTS)
def test_f_faulty_replicas_change_nothing_and_are_flagged(replicas, mode, kw):
    lin = router()
    x = tokens()
    honest = BFTGate.from_router(lin, replicas=1)(x)
    gate = BFTGate.from_router(lin, replicas=replicas)
    bad = list(range(replicas - gate.f, replicas))
    for r in bad:
        gate.inject_fault(r, mode, seed=r, **kw)
    out = gate(x)
    assert_same_routing(out, honest)  # bit for bit: the median of identical honest copies
    st = out.stats()
    assert st.withheld == 0 and st.flagged_replicas == tuple(bad)
    if mode in ("nan", "inf"):
        assert st.abstentions == (0,) * (replicas - gate.f) + (T,) * gate.f
    assert all(st.disagreements[r] == 0 for r in range(replicas - gate.f))


@pytest.mark.parametrize("mode, kw", [("scale", {"scale": 1e6}), ("zero", {})])
def test_rank_preserving_or_constant_faults_are_harmless_and_not_flagged(mode, kw):
    # A positive scale ranks experts exactly as the honest router: same vote. A constant
    # row ties everywhere and so supports any set — documented; safety is unaffected
    # since a Byzantine replica may vote for the decided set anyway.
    lin = router()
    x = tokens()
    gate = BFTGate.from_router(lin, replicas=4)
    gate.inject_fault(3, mode, **kw)
    out = gate(x)
    assert_same_routing(out, BFTGate.from_router(lin, replicas=1)(x))
    assert out.flagged_replicas == ()


@pytest.mark.parametrize("corrupt", ["nan", "huge", "sign", "random"])
def test_corrupted_weights_of_f_replicas(corrupt):
    lin = router(bias=True)
    x = tokens()
    gate = BFTGate.from_router(lin, replicas=7)
    with torch.no_grad():
        for r in (1, 4):  # f = 2
            w = gate.weight[r]
            if corrupt == "nan":
                w[3, 7] = float("nan")
            elif corrupt == "huge":
                w.mul_(-1e30)
            elif corrupt == "sign":
                w.neg_()
            else:
                w.normal_()
    out = gate(x)
    assert_same_routing(out, BFTGate.from_router(lin, replicas=1)(x))
    assert out.flagged_replicas == (1, 4)


def test_trimmed_mean_dispatches_like_the_honest_router():
    lin = router()
    x = tokens()
    _, ids, w = reference(lin, x, 2)
    gate = BFTGate.from_router(lin, replicas=7, aggregate="trimmed_mean")
    gate.inject_fault(0, "scale", scale=1e6)
    gate.inject_fault(6, "noise", scale=100.0)
    out = gate(x)
    # the mean of 5 equal values may round: close, not necessarily bit-equal
    assert torch.allclose(out.router_logits, lin(x), atol=1e-6)
    assert torch.equal(out.topk_ids, ids) and torch.allclose(out.topk_weights, w)


def test_non_identical_honest_replicas_median_stays_within_honest_range():
    torch.manual_seed(3)
    gate = BFTGate(H, E, 7, init="independent")
    x = tokens()
    with torch.no_grad():
        honest_logits = torch.einsum("th,reh->rte", x, gate.weight[:5])
    gate.inject_fault(5, "scale", scale=-1e6)
    gate.inject_fault(6, "target", experts=[0, 1])
    out = gate(x)
    lo, hi = honest_logits.amin(0), honest_logits.amax(0)
    agg = out.router_logits.detach()
    assert ((agg >= lo - 1e-5) & (agg <= hi + 1e-5)).all()
    # safety: every dispatched set is the top-k set of at least threshold - f honest replicas
    honest_sets = torch.topk(honest_logits, 2, dim=-1).indices.sort(-1).values  # [5, T, 2]
    chosen = out.topk_ids.sort(-1).values
    backers = (honest_sets == chosen.unsqueeze(0)).all(-1).sum(0)
    disp = ~out.withheld
    assert (backers[disp] >= out.threshold - 2).all()
    assert out.withheld.any()  # independent replicas rarely agree: the gate says so


# --------------------------------------------------------------------------- collusion


def test_f_plus_one_colluders_cause_withholding_never_a_wrong_dispatch():
    lin = router()
    x = tokens()
    _, ids, _ = reference(lin, x, 2)
    gate = BFTGate.from_router(lin, replicas=4)  # f = 1, threshold 3
    gate.inject_fault(2, "target", experts=[0])
    gate.inject_fault(3, "target", experts=[0])
    out = gate(x)
    disp = ~out.withheld
    # dispatched => the honest *set* (its weights come from the aggregate, which b > f
    # colluders can skew within the range between their logits and the honest ones)
    assert torch.equal(out.topk_ids[disp].sort(-1).values, ids[disp].sort(-1).values)
    # a set with 3 votes needs an honest vote and a colluder's (sets holding expert 0):
    has0 = (ids == 0).any(-1)
    assert out.withheld[~has0].all()
    assert disp.any() and out.withheld.any()
    assert (out.topk_ids[out.withheld] == E).all() and not out.dispatch_mask[out.withheld].any()
    assert (out.combine_weights[out.withheld] == 0).all() and (out.topk_weights[out.withheld] == 0).all()


@pytest.mark.parametrize("replicas", [4, 7, 10])
def test_up_to_2f_colluders_never_dispatch_a_set_no_honest_replica_proposes(replicas):
    lin = router()
    x = tokens()
    _, ids, _ = reference(lin, x, 2)
    gate = BFTGate.from_router(lin, replicas=replicas)
    for r in range(replicas - 2 * gate.f, replicas):  # 2f identical liars: sign-flipped
        gate.inject_fault(r, "sign_flip")
    out = gate(x)
    disp = ~out.withheld
    assert torch.equal(out.topk_ids[disp].sort(-1).values, ids[disp].sort(-1).values)
    assert out.withheld.all()  # 2f liars vs 2f + 1 honest... minus one each way: no quorum


def test_threshold_many_colluders_can_win_the_bound_is_tight():
    lin = router()
    x = tokens()
    gate = BFTGate.from_router(lin, replicas=4)
    for r in (1, 2, 3):  # 3 = threshold colluders: no rule can stop them
        gate.inject_fault(r, "target", experts=[0, 1])
    out = gate(x)
    assert (out.topk_ids.sort(-1).values == torch.tensor([0, 1])).all()


# --------------------------------------------------------------------------- stats / HF


def test_running_stats_and_reset():
    lin = router()
    gate = BFTGate.from_router(lin, replicas=4)
    x = tokens()
    gate(x)
    gate.inject_fault(1, "nan")
    gate.inject_fault(2, "sign_flip")
    out = gate(x)  # 2 faulty > f = 1: honest 2 votes < 3 -> all withheld
    assert out.num_withheld == T
    st = gate.stats()
    assert isinstance(st, GateStats)
    assert (st.tokens, st.withheld, st.dispatched) == (2 * T, T, T)
    assert st.abstentions == (0, T, 0, 0) and st.flagged_replicas == (1,)
    d = st.to_dict()
    assert d["flagged_replicas"] == [1] and d["threshold"] == 3 and st.withheld_fraction == 0.5
    gate.clear_faults(1)
    assert set(gate.faults) == {2}
    gate.clear_faults()
    gate.reset_stats()
    assert gate.stats().tokens == 0 and gate(x).num_withheld == 0


def test_tiny_moe_withheld_tokens_take_the_residual_path():
    torch.manual_seed(0)
    moe = TinyMoE(H, E, replicas=4, k=2, ffn_size=32)
    x = tokens()
    y, route = moe(x)
    assert route.num_withheld == 0 and not torch.equal(y, x)
    moe.gate.inject_fault(2, "target", experts=[0])
    moe.gate.inject_fault(3, "target", experts=[0])
    y2, route2 = moe(x)
    w = route2.withheld
    assert w.any() and torch.equal(y2[w], x[w])
    # dispatched tokens: the same experts (weights come from the skewed aggregate)
    assert torch.equal(route2.dispatch_mask[~w], route.dispatch_mask[~w])
    assert not torch.equal(y2[~w], x[~w])


def test_tiny_moe_copies_equal_single_router():
    torch.manual_seed(0)
    lin = router()
    torch.manual_seed(1)
    a = TinyMoE(H, E, gate=BFTGate.from_router(lin, replicas=1), ffn_size=32)
    torch.manual_seed(1)
    b = TinyMoE(H, E, gate=BFTGate.from_router(lin, replicas=7), ffn_size=32)
    x = tokens()
    assert torch.equal(a(x)[0], b(x)[0])


def test_hugging_face_router_parity_and_sentinel():
    mixtral = pytest.importorskip("transformers.models.mixtral.modeling_mixtral")
    from transformers import MixtralConfig

    cfg = MixtralConfig(hidden_size=H, intermediate_size=32, num_local_experts=E, num_experts_per_tok=2)
    torch.manual_seed(0)
    hf_router = mixtral.MixtralTopKRouter(cfg)
    torch.nn.init.normal_(hf_router.weight, std=0.2)
    x = tokens()
    gate = BFTGate.from_router(hf_router, replicas=4)
    assert gate.k == 2 and gate.bias is None
    gate.inject_fault(0, "noise")
    ours = gate(x).to_hf()
    theirs = hf_router(x)
    for a, b in zip(ours, theirs, strict=True):
        assert torch.equal(a, b)
    # withheld tokens carry index E: HF's experts skip them (residual path)
    experts = mixtral.MixtralExperts(cfg)
    for p in experts.parameters():
        torch.nn.init.normal_(p, std=0.1)
    gate.clear_faults()
    for r in (2, 3):
        gate.inject_fault(r, "target", experts=[0])
    out = gate(x)
    _, scores, idx = out.to_hf()
    y = experts(x, idx, scores)
    assert out.withheld.any()
    assert (y[out.withheld] == 0).all() and (y[~out.withheld] != 0).any()


def test_qwen_router_norm_topk_prob_becomes_normalize_topk():
    qwen = pytest.importorskip("transformers.models.qwen2_moe.modeling_qwen2_moe")
    from transformers import Qwen2MoeConfig

    cfg = Qwen2MoeConfig(hidden_size=H, num_experts=E, num_experts_per_tok=4, norm_topk_prob=False)
    hf_router = qwen.Qwen2MoeTopKRouter(cfg)
    torch.nn.init.normal_(hf_router.weight, std=0.2)
    gate = BFTGate.from_router(hf_router, replicas=4)
    assert (gate.k, gate.normalize_topk) == (4, False)
    x = tokens()
    for a, b in zip(gate(x).to_hf(), hf_router(x), strict=True):
        assert torch.equal(a, b)


# --------------------------------------------------------------------------- properties

ALL_MODES = ["sign_flip", "scale", "noise", "zero", "nan", "inf", "target"]


@given(
    replicas=st.integers(1, 10),
    e=st.integers(2, 12),
    k=st.integers(1, 3),
    t=st.integers(0, 40),
    seed=st.integers(0, 2**16),
    data=st.data(),
)
def test_property_byzantine_replicas_never_misroute(replicas, e, k, t, seed, data):
    k = min(k, e)
    lin = router(seed=seed, h=8, e=e)
    x = tokens(seed=seed + 1, t=t, h=8)
    gate = BFTGate.from_router(lin, replicas=replicas, k=k)
    n_bad = data.draw(st.integers(0, gate.threshold - 1), label="byzantine")
    bad = data.draw(st.permutations(range(replicas)), label="order")[:n_bad]
    for r in bad:
        mode = data.draw(st.sampled_from(ALL_MODES), label=f"mode{r}")
        kw = {"scale": data.draw(st.sampled_from([-1e6, -1.0, 1e-3, 1e6]))} if mode == "scale" else {}
        if mode == "target":
            kw = {"experts": data.draw(st.lists(st.integers(0, e - 1), min_size=1, max_size=k, unique=True))}
        gate.inject_fault(r, mode, seed=r, **kw)
    out = gate(x)
    _, ids, _ = reference(lin, x, k)
    disp = ~out.withheld
    # safety for b < threshold: a dispatched set is the honest one
    assert torch.equal(out.topk_ids[disp].sort(-1).values, ids[disp].sort(-1).values)
    assert (out.topk_ids[out.withheld] == e).all()
    if n_bad <= gate.f:  # liveness and exactness for b <= f
        assert_same_routing(out, BFTGate.from_router(lin, replicas=1, k=k)(x))


def test_stands_in_for_a_mixtral_router_inside_the_sparse_moe_block():
    # what issue 11's patching will do, in six lines: the block only calls self.gate(h)
    mixtral = pytest.importorskip("transformers.models.mixtral.modeling_mixtral")
    from transformers import MixtralConfig

    class Stand(torch.nn.Module):
        def __init__(self, gate):
            super().__init__()
            self.bft = gate

        def forward(self, h):
            return self.bft(h).to_hf()

    cfg = MixtralConfig(hidden_size=H, intermediate_size=32, num_local_experts=E, num_experts_per_tok=2)
    torch.manual_seed(0)
    block = mixtral.MixtralSparseMoeBlock(cfg).eval()
    for p in block.parameters():
        torch.nn.init.normal_(p, std=0.2)
    x = tokens().view(3, 100, H)
    want = block(x)
    gate = BFTGate.from_router(block.gate, replicas=7)
    gate.inject_fault(0, "target", experts=[3])
    gate.inject_fault(4, "nan")
    block.gate = Stand(gate)
    assert torch.equal(block(x), want)
