"""patch_moe_gates on tiny models of every supported family: bit-exact outputs,
recorded router logits, stats, unpatch."""

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from _hf_tiny import FAMILIES, build, inputs, router_logits, run  # noqa: E402

from openmoe_bft.hf import SUPPORTED_FAMILIES, patch_moe_gates  # noqa: E402
from openmoe_bft.torch import BFTGate  # noqa: E402

pytestmark = pytest.mark.torch


@pytest.fixture(scope="module")
def models():
    return {fam: build(fam) for fam in FAMILIES}


def test_families_cover_the_issue():
    assert set(FAMILIES) == set(SUPPORTED_FAMILIES)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("replicas", [1, 4, 7])
def test_healthy_replicas_are_bit_exact(models, family, replicas):
    model = models[family]
    want = run(model, family, output_router_logits=True)
    want_logits = router_logits(want)
    # the routing is not trivial: tokens spread over several experts in every layer
    for rl in want_logits:
        assert len(torch.unique(rl.reshape(-1, rl.shape[-1]).argmax(-1))) > 1
    with patch_moe_gates(model, replicas=replicas) as handle:
        got = run(model, family, output_router_logits=True)
        stats = handle.stats()
    assert torch.equal(got.logits, want.logits)
    got_logits = router_logits(got)
    assert len(got_logits) == len(want_logits) == len(handle) > 0  # OutputRecorder still finds the routers
    for a, b in zip(got_logits, want_logits, strict=True):
        assert torch.equal(a, b)
    if family != "switch_transformers":  # Switch's aux loss is only computed with labels
        assert torch.equal(got.aux_loss, want.aux_loss)
    tokens = inputs(family)["input_ids"].numel()
    for lay in stats.layers:
        assert lay.stats.tokens == tokens and lay.withheld == 0 and lay.flagged_replicas == ()
        assert lay.stats.replicas == replicas
    assert stats.flagged == {}


@pytest.mark.parametrize("family", FAMILIES)
def test_loss_and_gradients_match(family):
    model = build(family)
    kw = inputs(family)
    labels = kw.get("decoder_input_ids", kw["input_ids"])
    model.train()
    for m in model.modules():  # dropout off; training-mode code paths (Switch jitter) stay
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    torch.manual_seed(3)  # Switch's router jitter draws in training mode
    want = model(**kw, labels=labels, output_router_logits=True)
    want.loss.backward()
    ref_grad = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()
    with patch_moe_gates(model, replicas=4) as handle:
        torch.manual_seed(3)
        got = model(**kw, labels=labels, output_router_logits=True)
        got.loss.backward()
        assert torch.equal(got.loss, want.loss)
        for lay in handle.layers:  # grad="replicated": every replica gets the router's gradient
            g = lay.gate.weight.grad
            ref = ref_grad[lay.name + (".classifier.weight" if family == "switch_transformers" else ".weight")]
            for r in range(4):
                assert torch.allclose(g[r], ref, rtol=1e-5, atol=1e-7)
    for n, p in model.named_parameters():  # everything upstream of the routers got the same gradient
        if p.grad is not None and n in ref_grad:
            assert torch.allclose(p.grad, ref_grad[n], rtol=1e-4, atol=1e-6), n


def test_generate_is_unchanged(models):
    model = models["mixtral"]
    ids = inputs("mixtral")["input_ids"][:1, :5]
    want = model.generate(ids, max_new_tokens=6, do_sample=False, pad_token_id=0)
    with patch_moe_gates(model, replicas=4):
        got = model.generate(ids, max_new_tokens=6, do_sample=False, pad_token_id=0)
    assert torch.equal(got, want)


def test_unpatch_restores_the_original_objects(models):
    model = models["qwen2_moe"]
    before = dict(model.named_modules())
    state = {k: v.clone() for k, v in model.state_dict().items()}
    want = run(model, "qwen2_moe").logits
    handle = patch_moe_gates(model, replicas=4)
    assert handle.active and len(handle) == 2
    names = [lay.name for lay in handle.layers]
    assert names == ["model.layers.0.mlp.gate", "model.layers.1.mlp.gate"]
    for lay in handle.layers:
        new = model.get_submodule(lay.name)
        assert new is lay.patched and new is not lay.original
        assert isinstance(new, type(lay.original))  # a subclass: HF's class-based hooks still match
        assert type(new).__name__ == "BFTQwen2MoeTopKRouter"
        assert isinstance(new.bft, BFTGate) and new.bft.weight.shape == (4, 8, 32)
        assert (new.top_k, new.num_experts, new.norm_topk_prob) == (2, 8, False)
        assert handle.gate(lay.name) is new.bft is handle.gates[lay.name]
    assert handle.gate(-1) is handle.layers[1].gate
    assert "gate.bft.weight" in " ".join(model.state_dict())
    handle.unpatch()
    handle.unpatch()  # idempotent
    assert not handle.active
    after = dict(model.named_modules())
    assert after.keys() == before.keys() and all(after[k] is before[k] for k in before)
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k]), k
    assert torch.equal(run(model, "qwen2_moe").logits, want)
    assert "unpatched" in repr(handle)


def test_stats_report_withheld_tokens_and_flagged_replicas(models):
    model = models["olmoe"]
    with patch_moe_gates(model, replicas=4) as handle:
        handle.gate(0).inject_fault(2, "noise", scale=5.0)
        handle.gate(1).inject_fault(1, "target", experts=[3])
        handle.gate(1).inject_fault(3, "target", experts=[3])  # 2 > f = 1 colluders in layer 1
        run(model, "olmoe")
        stats = handle.stats()
        d = stats.to_dict()
        assert stats.flagged["model.layers.0.mlp.gate"] == (2,)
        assert stats.layers[0].withheld == 0
        assert stats.layers[1].withheld > 0  # no quorum: withheld, never sent to expert 3 on 2 votes
        assert d["withheld"] == stats.withheld == stats.layers[1].withheld
        assert d["layers"][0]["name"] == "model.layers.0.mlp.gate" and d["layers"][0]["family"] == "olmoe"
        handle.reset_stats()
        assert handle.stats().tokens == 0


def test_given_replicas_and_perturbed_mode(models):
    model = models["mixtral"]
    want = run(model, "mixtral").logits

    def weights(name, router):
        w = router.weight.detach()
        return [w, w, w, torch.randn_like(w) * 50]  # one independent replica, three honest copies

    with patch_moe_gates(model, replicas=4, mode="given", replica_weights=weights) as handle:
        assert torch.equal(run(model, "mixtral").logits, want)
        assert all(s.flagged_replicas == (3,) for s in handle.stats().layers)
    with patch_moe_gates(model, replicas=5, mode="perturbed", noise=1e-4, seed=7) as handle:
        w = handle.gate(0).weight
        assert not torch.equal(w[0], w[1])
        got = run(model, "mixtral").logits
        assert torch.allclose(got, want, atol=1e-2) and not torch.equal(got, want)
    with patch_moe_gates(model, replicas=5, mode="perturbed", noise=1e-4, seed=7) as again:
        assert torch.equal(again.gate(0).weight, w)  # seeded


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_precision_routing_is_identical(family, dtype):
    model = build(family).to(dtype)
    want = run(model, family, output_router_logits=True)
    with patch_moe_gates(model, replicas=4) as handle:
        # Switch routes in router_dtype (float32 by default), like HF
        want_dtype = torch.float32 if family == "switch_transformers" else dtype
        assert handle.gate(0).weight.dtype == want_dtype
        got = run(model, family, output_router_logits=True)
    for a, b in zip(router_logits(got), router_logits(want), strict=True):
        assert torch.equal(a, b)
    assert torch.equal(got.logits, want.logits)


def test_switch_capacity_and_training_jitter_match_hf():
    import transformers as tf

    cfg = tf.SwitchTransformersConfig(vocab_size=100, d_model=32, d_kv=8, d_ff=32, num_layers=2, num_decoder_layers=2,
                                      num_heads=4, num_experts=4, expert_capacity=2, router_jitter_noise=0.1,
                                      dropout_rate=0.0, num_sparse_encoder_layers=1, num_sparse_decoder_layers=1)
    torch.manual_seed(0)
    model = tf.SwitchTransformersForConditionalGeneration(cfg).train()
    kw = inputs("switch_transformers", seq=12)
    torch.manual_seed(5)
    want = model(**kw, output_router_logits=True)
    with patch_moe_gates(model, replicas=4) as handle:
        torch.manual_seed(5)
        got = model(**kw, output_router_logits=True)
        # expert_capacity=2 with 12 tokens per sequence: many tokens dropped by capacity, same as HF
        router = model.get_submodule(handle.layers[0].name)
        idx, probs, _ = router(torch.randn(2, 12, 32))
        assert idx.sum(-1).eq(0).any() and (idx.sum(1) <= 2).all()
    assert torch.equal(got.logits, want.logits)


def test_unpatch_after_moving_the_model_keeps_it_consistent():
    model = build("qwen3_moe")
    handle = patch_moe_gates(model, replicas=4)
    model.to(torch.bfloat16)
    assert handle.gate(0).weight.dtype == torch.bfloat16
    handle.unpatch()
    assert all(p.dtype == torch.bfloat16 for p in model.parameters())
    assert torch.isfinite(run(model, "qwen3_moe").logits).all()
