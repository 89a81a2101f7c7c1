"""Parity with Hugging Face transformers' MoE routers and losses on the same logits.

Each HF router is the real module with an identity projection, so its "hidden states"
are the logits. Continuous random logits: torch.topk's tie order is unspecified,
ours is lowest index first.

Scale factor: HF Mixtral's ``load_balancing_loss_func(..., top_k=k)`` counts the k
selections per token against the number of *tokens*, so it equals ``k`` times ours
(ours: 1.0 = balanced for every k). Switch's (top-1) equals ours exactly.
"""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from transformers import MixtralConfig, Qwen2MoeConfig, SwitchTransformersConfig  # noqa: E402
from transformers.models.mixtral.modeling_mixtral import (  # noqa: E402
    MixtralTopKRouter,
    load_balancing_loss_func,
)
from transformers.models.qwen2_moe.modeling_qwen2_moe import Qwen2MoeTopKRouter  # noqa: E402
from transformers.models.switch_transformers import modeling_switch_transformers as hf_switch  # noqa: E402

from openmoe_bft.moe import SparseMoERouter, router_z_loss, switch_load_balancing_loss  # noqa: E402

E = 16


def logits(t, seed):
    return (np.random.default_rng(seed).standard_normal((t, E)) * 2).astype(np.float32)


def identity(router, attr="weight"):
    with torch.no_grad():
        getattr(router, attr).copy_(torch.eye(E))
    return router


@pytest.mark.parametrize("k", [1, 2, 4, 8])
@pytest.mark.parametrize("seed", [0, 1])
def test_mixtral_load_balancing_loss_is_k_times_ours(k, seed):
    x = logits(2048, seed)
    hf = float(load_balancing_loss_func((torch.from_numpy(x),), E, top_k=k))
    ours = SparseMoERouter(E, k=k).route(x).load_balancing_loss
    assert hf / k == pytest.approx(ours, abs=1e-6)  # HF works in float32
    assert switch_load_balancing_loss(x, k) == pytest.approx(ours, abs=1e-9)
    # capacity limits do not enter the loss (HF computes it from the gate alone)
    capped = SparseMoERouter(E, k=k, capacity_factor=0.5, capacity_policy="drop").route(x)
    assert capped.load_balancing_loss == pytest.approx(ours, abs=1e-9)


@pytest.mark.parametrize("k", [1, 2, 3, 6])
def test_mixtral_router_selects_and_weights_like_ours(k):
    x = logits(1024, 10 + k)
    cfg = MixtralConfig(hidden_size=E, num_local_experts=E, num_experts_per_tok=k)
    _, scores, idx = identity(MixtralTopKRouter(cfg))(torch.from_numpy(x))
    ours = SparseMoERouter(E, k=k).route(x)
    assert np.array_equal(ours.expert_ids, idx.numpy())
    assert np.allclose(ours.weights, scores.detach().numpy(), atol=1e-6)


@pytest.mark.parametrize("norm", [True, False])
def test_qwen2_moe_router_norm_topk_prob(norm):
    x = logits(1024, 20)
    cfg = Qwen2MoeConfig(hidden_size=E, num_experts=E, num_experts_per_tok=4, norm_topk_prob=norm)
    _, scores, idx = identity(Qwen2MoeTopKRouter(cfg))(torch.from_numpy(x))
    ours = SparseMoERouter(E, k=4, normalize_weights=norm).route(x)
    assert np.array_equal(ours.expert_ids, idx.numpy())
    assert np.allclose(ours.weights, scores.detach().numpy(), atol=1e-6)


@pytest.mark.parametrize("capacity", [8, 64, 200])
def test_switch_top1_router_capacity_and_losses(capacity):
    x = logits(1024, 30 + capacity)
    cfg = SwitchTransformersConfig(d_model=E, num_experts=E, expert_capacity=capacity,
                                   router_bias=False, router_jitter_noise=0.0, router_dtype="float32")
    hf_router = hf_switch.SwitchTransformersTop1Router(cfg).eval()
    identity(hf_router.classifier)
    with torch.no_grad():
        mask, probs, raw = hf_router(torch.from_numpy(x)[None])  # one group of 1024 tokens
    mask = mask[0].numpy()
    ours = SparseMoERouter(E, k=1, expert_capacity=capacity, capacity_policy="drop",
                           normalize_weights=False).route(x)
    dense = np.zeros((1024, E), dtype=np.int64)
    kept = ours.expert_ids[:, 0] >= 0
    dense[np.flatnonzero(kept), ours.expert_ids[kept, 0]] = 1
    assert np.array_equal(dense, mask)
    assert ours.dropped == np.flatnonzero(mask.sum(axis=1) == 0).tolist()
    assert np.allclose(ours.weights[kept, 0], probs[0, kept, 0].detach().numpy(), atol=1e-6)

    hf_probs = torch.softmax(raw, dim=-1)
    hf_aux = float(hf_switch.load_balancing_loss_func(hf_probs, raw.argmax(dim=-1)))
    assert ours.load_balancing_loss == pytest.approx(hf_aux, abs=1e-6)
    hf_z = float(hf_switch.router_z_loss_func(raw))
    assert ours.router_z_loss == pytest.approx(hf_z, rel=1e-6)
    assert router_z_loss(x) == pytest.approx(hf_z, rel=1e-6)
