"""Silent data corruption in MoE routers: unpatched vs BFT-patched Mixtral (issue 11).

Model: MixtralConfig, hidden 64, intermediate 128, 4 layers, 4 heads, 8 experts
top-2, vocab 256, seeded N(0, 0.2^2) weights (float32, eval). Input: batch 4 x seq 64
(256 tokens per forward). Patched: ``patch_moe_gates(model, replicas=4)`` (f = 1).

For every fault kind x target (router weights / router activations) x layer (one
MoE layer, or all) x rate (fraction of elements hit), the same corruption
(:func:`openmoe_bft.faults.inject`, same seed, same positions and bits) is applied to
the unpatched model's router and to replica 0 of the patched model's gate. Reported
against the clean model: share of tokens whose next-token argmax changed, max |logit
difference| (``nan`` when the corrupted model produced NaN/inf), tokens withheld and
layers where the corrupted replica was flagged. Collusion rows: R = 7 (f = 2) with the
f = 2, then f + 1 = 3, replicas all steering every token to expert 3. A greedy
generation section decodes 24 tokens from 4 prompts under a few faults.

    python benchmarks/sdc.py [--quick]

Writes benchmarks/results/sdc.md and benchmarks/results/sdc.json.
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import RESULTS, machine, write_result  # noqa: E402

from openmoe_bft.faults import SDCFault, inject  # noqa: E402
from openmoe_bft.hf import patch_moe_gates  # noqa: E402

CONFIG = dict(vocab_size=256, hidden_size=64, intermediate_size=128, num_hidden_layers=4, num_attention_heads=4,
              num_key_value_heads=4, num_local_experts=8, num_experts_per_tok=2, max_position_embeddings=128)
BIT_RATES = (0.001, 0.01, 0.1)
WHOLE_RATES = (0.1, 1.0)


def build():
    from transformers import MixtralConfig, MixtralForCausalLM

    torch.manual_seed(0)
    model = MixtralForCausalLM(MixtralConfig(**CONFIG)).eval()
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() > 1:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.2)
    return model


def divergence(logits: torch.Tensor, clean: torch.Tensor) -> dict:
    changed = (logits.argmax(-1) != clean.argmax(-1)).float().mean().item()
    finite = bool(torch.isfinite(logits).all())
    diff = (logits - clean).abs().max().item() if finite else math.nan
    return {"argmax_changed": changed, "max_abs_diff": diff, "finite": finite}


def faults(quick: bool) -> list[SDCFault]:
    out = []
    bit_rates = (0.01,) if quick else BIT_RATES
    for target in ("weights", "activations"):
        for kind in ("sign", "exponent", "random"):
            out += [SDCFault(kind, target, rate=r, seed=7) for r in bit_rates]
        for kind in ("zero", "saturate"):
            out += [SDCFault(kind, target, rate=r, seed=7) for r in WHOLE_RATES]
    out.append(SDCFault("target", "activations", rate=1.0, expert=3))
    return out


def run(quick: bool) -> dict:
    model = build()
    ids = torch.randint(0, CONFIG["vocab_size"], (4, 64), generator=torch.Generator().manual_seed(1))
    n_layers = CONFIG["num_hidden_layers"]
    layer_sets = [[i] for i in range(n_layers)] + [list(range(n_layers))]
    if quick:
        layer_sets = [[0], list(range(n_layers))]
    rows = []
    with torch.inference_mode():
        clean = model(ids).logits
        twin = copy.deepcopy(model)
        handle = patch_moe_gates(model, replicas=4)
        assert torch.equal(model(ids).logits, clean)
        for fault in faults(quick):
            for layers in layer_sets:
                handle.reset_stats()
                with inject(handle, fault, layers=layers), inject(twin, fault, layers=layers):
                    patched = model(ids).logits
                    unpatched = twin(ids).logits
                    stats = handle.stats()
                flagged = sum(1 for i in layers if stats.layers[i].flagged_replicas == (0,))
                rows.append({
                    **fault.to_dict(),
                    "layers": "all" if len(layers) > 1 else str(layers[0]),
                    "replicas": 4,
                    "corrupted_replicas": 1,
                    "unpatched": divergence(unpatched, clean),
                    "patched": divergence(patched, clean),
                    "withheld": stats.withheld,
                    "flagged_layers": f"{flagged}/{len(layers)}",
                })
        handle.unpatch()
        # collusion: R = 7 (f = 2), 2 then 3 replicas steering every token to expert 3
        collusion = []
        with patch_moe_gates(model, replicas=7) as h7:
            fault = SDCFault("target", "activations", rate=1.0, expert=3)
            for colluders in ([0, 1], [0, 1, 2]):
                h7.reset_stats()
                with inject(h7, fault, replicas=colluders), inject(twin, fault):
                    patched = model(ids).logits
                    unpatched = twin(ids).logits
                    stats = h7.stats()
                collusion.append({
                    "replicas": 7, "f": 2, "colluders": len(colluders),
                    "unpatched": divergence(unpatched, clean), "patched": divergence(patched, clean),
                    "withheld": stats.withheld, "tokens": stats.tokens,
                    "flagged": {k: list(v) for k, v in stats.flagged.items()},
                })
        generation = []
        prompts = ids[:, :8]
        new = 8 if quick else 24

        def greedy(m):
            return m.generate(prompts, max_new_tokens=new, do_sample=False, pad_token_id=0)[:, 8:]

        want = greedy(model)
        gen_faults = [SDCFault("exponent", "weights", rate=0.01, seed=7),
                      SDCFault("random", "activations", rate=0.01, seed=7),
                      SDCFault("sign", "weights", rate=0.1, seed=7)]
        with patch_moe_gates(model, replicas=4) as h4:
            for fault in gen_faults:
                with inject(h4, fault), inject(twin, fault):
                    got_p, got_u = greedy(model), greedy(twin)
                generation.append({**fault.to_dict(), "layers": "all", "new_tokens": int(want.numel()),
                                   "unpatched_changed": (got_u != want).float().mean().item(),
                                   "patched_changed": (got_p != want).float().mean().item()})
    info = machine()
    info["torch"] = torch.__version__
    import transformers

    info["transformers"] = transformers.__version__
    return {"benchmark": "sdc", "machine": info, "model": CONFIG, "batch": 4, "seq": 64, "rows": rows,
            "collusion": collusion, "generation": generation}


def _fmt_diff(d: dict) -> str:
    return "nan/inf" if not d["finite"] else f"{d['max_abs_diff']:.3g}"


def markdown(data: dict) -> str:
    lines = [
        "# Silent data corruption in MoE routers: unpatched vs BFT-patched",
        "",
        "Generated by `python benchmarks/sdc.py` (see its docstring). Mixtral config: hidden 64, 4 layers, "
        "8 experts top-2, vocab 256, seeded random weights, float32; batch 4 x seq 64 = 256 tokens. "
        "Patched: `patch_moe_gates(model, replicas=4)` (f = 1); the same corruption (same positions and "
        "bits) hits the unpatched model's router and replica 0 of the patched gate. "
        "`argmax changed` = share of tokens whose next-token argmax differs from the clean model; "
        "`max |diff|` = max absolute logit difference (`nan/inf`: the model produced non-finite logits). "
        "`flagged` = corrupted layers where replica 0 was flagged by the vote "
        "(an all-zero replica ties everywhere and supports any choice, so it is never flagged — "
        "and never changes a decision).",
        "",
        f"torch {data['machine']['torch']}, transformers {data['machine']['transformers']}, "
        f"{data['machine']['cpu']}.",
        "",
        "| fault | target | rate | layer | unpatched argmax changed | unpatched max \\|diff\\| "
        "| patched argmax changed | patched max \\|diff\\| | withheld | flagged |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in data["rows"]:
        rate = f"{r['rate']:g}" if r["kind"] != "target" else f"all → expert {r['expert']}"
        lines.append(
            f"| {r['kind']} | {r['target']} | {rate} | {r['layers']} | {r['unpatched']['argmax_changed']:.1%} "
            f"| {_fmt_diff(r['unpatched'])} | {r['patched']['argmax_changed']:.1%} | {_fmt_diff(r['patched'])} "
            f"| {r['withheld']} | {r['flagged_layers']} |"
        )
    n = len(data["rows"])
    exact = sum(1 for r in data["rows"] if r["patched"]["finite"] and r["patched"]["max_abs_diff"] == 0.0)
    diverged = sum(1 for r in data["rows"] if not r["unpatched"]["finite"] or r["unpatched"]["max_abs_diff"] > 0)
    lines += ["", f"Patched outputs bit-identical to the clean model in {exact}/{n} rows; "
                  f"the unpatched model diverged in {diverged}/{n}.", "",
              "## Collusion (R = 7, f = 2; colluders steer every token to expert 3 in every layer)", "",
              "| colluders | unpatched argmax changed | patched argmax changed | patched max \\|diff\\| "
              "| withheld (token-layers) |",
              "|---:|---:|---:|---:|---:|"]
    for c in data["collusion"]:
        lines.append(f"| {c['colluders']} | {c['unpatched']['argmax_changed']:.1%} "
                     f"| {c['patched']['argmax_changed']:.1%} | {_fmt_diff(c['patched'])} "
                     f"| {c['withheld']} / {c['tokens']} |")
    lines += ["", "With f colluders the output is exact. With f + 1 the honest top-k set lacks the 5-vote "
                  "quorum, so tokens are withheld (residual path) — the output changes, but no token is sent to "
                  "the colluders' expert on their votes.", "",
              "## Greedy generation (corruption in every MoE layer)", "",
              "| fault | target | rate | unpatched tokens changed | patched tokens changed |",
              "|---|---|---:|---:|---:|"]
    for g in data["generation"]:
        lines.append(f"| {g['kind']} | {g['target']} | {g['rate']:g} | {g['unpatched_changed']:.1%} "
                     f"| {g['patched_changed']:.1%} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer rates and layers, no result files")
    args = ap.parse_args()
    torch.set_num_threads(min(torch.get_num_threads(), 2))
    data = run(args.quick)
    md = markdown(data)
    print(md)
    if not args.quick:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "sdc.md").write_text(md)
        print("wrote", write_result("sdc", data), RESULTS / "sdc.md")


if __name__ == "__main__":
    main()
