"""BFT routing inside a Hugging Face Mixtral model, and what it protects against.

Builds a tiny Mixtral from its config class (seeded random weights, no download),
replaces every layer's router by a 4-replica BFT gate, flips exponent bits in one
replica's router weights (a silent-data-corruption fault), and shows the patched
model's outputs stay bit-identical to the clean model while an unpatched copy with
the same corruption diverges. Needs the [hf] extra: pip install 'openmoe-bft[hf]'.

    python examples/hf_patch_mixtral.py [ignored-db-path]
"""

import copy

import torch
from transformers import MixtralConfig, MixtralForCausalLM

from openmoe_bft.faults import SDCFault, inject
from openmoe_bft.hf import patch_moe_gates

torch.manual_seed(0)
config = MixtralConfig(vocab_size=100, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2, num_local_experts=8, num_experts_per_tok=2)
model = MixtralForCausalLM(config).eval()
with torch.no_grad():
    for p in model.parameters():
        if p.dim() > 1:
            p.normal_(0, 0.2)
ids = torch.randint(0, 100, (2, 16), generator=torch.Generator().manual_seed(1))

with torch.no_grad():
    clean = model(ids).logits
    twin = copy.deepcopy(model)  # an unpatched copy to corrupt the same way

    with patch_moe_gates(model, replicas=4) as handle:  # f = 1 faulty replica tolerated per layer
        print(handle)
        print("healthy replicas, bit-identical to unpatched:", torch.equal(model(ids).logits, clean))

        fault = SDCFault("exponent", target="weights", rate=0.05, seed=3)  # flip bit 30 of 5% of weights
        handle.reset_stats()
        with inject(handle, fault, replicas=[0]), inject(twin, fault):
            patched = model(ids).logits
            unpatched = twin(ids).logits
            stats = handle.stats()
        changed = (unpatched.argmax(-1) != clean.argmax(-1)).float().mean().item()
        print(f"{fault.kind} bit flips in replica 0 of every router:")
        print(f"  patched   == clean: {torch.equal(patched, clean)}")
        print(f"  unpatched == clean: {torch.equal(unpatched, clean)} "
              f"(next-token argmax changed for {changed:.0%} of tokens)")
        for layer in stats.layers:
            print(f"  {layer.name}: withheld {layer.withheld}/{layer.stats.tokens} tokens, "
                  f"flagged replicas {list(layer.flagged_replicas)}")

print("unpatched again; original routers restored:",
      type(model.model.layers[0].mlp.gate).__name__, torch.equal(model(ids).logits, clean))
