"""Tiny seeded models of every supported family (no downloads): hidden 32, 2 layers."""

import torch

FAMILIES = ("mixtral", "qwen2_moe", "qwen3_moe", "olmoe", "switch_transformers")
VOCAB = 100
COMMON = dict(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, intermediate_size=32, max_position_embeddings=64)


def build(family, *, seed=0, experts=8, std=0.2):
    """A tiny model of ``family`` in eval mode, every weight matrix drawn N(0, std^2)
    from ``seed`` (large enough that tokens spread over the experts)."""
    import transformers as tf

    torch.manual_seed(seed)
    if family == "mixtral":
        cfg = tf.MixtralConfig(**COMMON, num_local_experts=experts, num_experts_per_tok=2)
        model = tf.MixtralForCausalLM(cfg)
    elif family == "qwen2_moe":
        cfg = tf.Qwen2MoeConfig(**COMMON, num_experts=experts, num_experts_per_tok=2, moe_intermediate_size=16,
                                shared_expert_intermediate_size=16, norm_topk_prob=False)
        model = tf.Qwen2MoeForCausalLM(cfg)
    elif family == "qwen3_moe":
        cfg = tf.Qwen3MoeConfig(**COMMON, num_experts=experts, num_experts_per_tok=2, moe_intermediate_size=16,
                                head_dim=8, norm_topk_prob=True)
        model = tf.Qwen3MoeForCausalLM(cfg)
    elif family == "olmoe":
        cfg = tf.OlmoeConfig(**COMMON, num_experts=experts, num_experts_per_tok=2, eos_token_id=None,
                             pad_token_id=None)
        model = tf.OlmoeForCausalLM(cfg)
    elif family == "switch_transformers":
        cfg = tf.SwitchTransformersConfig(vocab_size=VOCAB, d_model=32, d_kv=8, d_ff=32, num_layers=2,
                                          num_decoder_layers=2, num_heads=4, num_experts=min(experts, 4),
                                          expert_capacity=8, num_sparse_encoder_layers=1,
                                          num_sparse_decoder_layers=1)
        model = tf.SwitchTransformersForConditionalGeneration(cfg)
    else:
        raise ValueError(family)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() > 1:
                p.copy_(torch.randn(p.shape, generator=gen) * std)
    return model.eval()


def inputs(family, *, batch=2, seq=16, seed=1):
    ids = torch.randint(0, VOCAB, (batch, seq), generator=torch.Generator().manual_seed(seed))
    kw = {"input_ids": ids}
    if family == "switch_transformers":
        kw["decoder_input_ids"] = ids.flip(-1)
    return kw


def run(model, family, **extra):
    with torch.no_grad():
        return model(**inputs(family), **extra)


def router_logits(out):
    got = getattr(out, "router_logits", None)
    if got is None:
        got = tuple(out.encoder_router_logits) + tuple(out.decoder_router_logits)
    return tuple(x for x in got if x is not None)
