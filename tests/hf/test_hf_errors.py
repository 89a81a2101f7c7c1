"""patch_moe_gates / faults: bad input gets a typed error saying what was expected."""

import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from _hf_tiny import build, run  # noqa: E402

from openmoe_bft.errors import InvalidInput, InvalidType, MissingDependency  # noqa: E402
from openmoe_bft.faults import SDCFault, corrupt_, inject  # noqa: E402
from openmoe_bft.hf import SUPPORTED_FAMILIES, find_moe_routers, patch_moe_gates  # noqa: E402

pytestmark = pytest.mark.torch


@pytest.fixture(scope="module")
def mixtral():
    return build("mixtral")


def test_model_without_moe_layers_names_the_supported_families():
    import transformers as tf

    dense = tf.LlamaForCausalLM(tf.LlamaConfig(vocab_size=50, hidden_size=16, intermediate_size=16,
                                               num_hidden_layers=1, num_attention_heads=2))
    for model in (dense, torch.nn.Linear(4, 4)):
        with pytest.raises(InvalidInput) as err:
            patch_moe_gates(model)
        msg = str(err.value)
        assert err.value.argument == "model" and "no MoE layers" in msg
        assert all(fam in msg for fam in SUPPORTED_FAMILIES)


def test_unsupported_moe_kind_is_named():
    class FancyTopKRouter(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.zeros(4, 8))

    model = torch.nn.Sequential(FancyTopKRouter())
    with pytest.raises(InvalidInput, match="unsupported kind: FancyTopKRouter.*Supported: mixtral"):
        patch_moe_gates(model)


@pytest.mark.parametrize("replicas, error", [(0, InvalidInput), (-3, InvalidInput), (2.5, InvalidType),
                                             ("4", InvalidType), (True, InvalidType)])
def test_bad_replica_count(mixtral, replicas, error):
    with pytest.raises(error) as err:
        patch_moe_gates(mixtral, replicas=replicas)
    assert err.value.argument == "replicas"
    assert not find_moe_routers(mixtral)[0].router.__class__.__name__.startswith("BFT")


def test_bad_options(mixtral):
    with pytest.raises(InvalidInput, match="copies"):
        patch_moe_gates(mixtral, mode="bogus")
    with pytest.raises(InvalidInput, match="replica_weights"):
        patch_moe_gates(mixtral, mode="given")
    with pytest.raises(InvalidInput, match="replica_weights"):
        patch_moe_gates(mixtral, replica_weights=lambda n, r: None)
    with pytest.raises(InvalidInput, match=r"expected \(4, 8, 32\)"):
        patch_moe_gates(mixtral, mode="given", replica_weights=lambda n, r: torch.zeros(3, 8, 32))
    with pytest.raises(InvalidInput, match="faulty"):
        patch_moe_gates(mixtral, replicas=4, f=2)
    with pytest.raises(InvalidInput, match="noise"):
        patch_moe_gates(mixtral, mode="perturbed", noise=float("nan"))
    with pytest.raises(InvalidType, match="nn.Module"):
        patch_moe_gates("mixtral")
    # nothing was patched by any failed call
    assert all(type(s.router).__name__ == "MixtralTopKRouter" for s in find_moe_routers(mixtral))


def test_double_patch_and_unpatch_after_tampering(mixtral):
    handle = patch_moe_gates(mixtral, replicas=4)
    try:
        with pytest.raises(InvalidInput, match="already patched"):
            patch_moe_gates(mixtral, replicas=4)
        block = mixtral.get_submodule("model.layers.1.mlp")
        patched = block.gate
        block.gate = torch.nn.Identity()
        with pytest.raises(InvalidInput, match="no longer the patched router"):
            handle.unpatch()
        assert handle.active and mixtral.get_submodule("model.layers.0.mlp.gate") is handle.layers[0].patched
        block.gate = patched
    finally:
        handle.unpatch()
    assert not handle.active
    with pytest.raises(InvalidInput, match="layer index"):
        handle.gate(5)
    with pytest.raises(InvalidInput, match="no patched router named"):
        handle.gate("nope")


def test_meta_device_and_quantised_weights():
    import transformers as tf

    with torch.device("meta"):
        meta = tf.MixtralForCausalLM(tf.MixtralConfig(vocab_size=50, hidden_size=16, intermediate_size=16,
                                                      num_hidden_layers=1, num_attention_heads=2,
                                                      num_key_value_heads=1, num_local_experts=4))
    with pytest.raises(InvalidInput, match="meta device"):
        patch_moe_gates(meta)
    model = build("olmoe")
    router = model.get_submodule("model.layers.1.mlp.gate")
    router.weight = torch.nn.Parameter(torch.zeros(8, 32, dtype=torch.int8), requires_grad=False)
    with pytest.raises(InvalidInput, match="int8 router weights"):
        patch_moe_gates(model)
    assert type(model.get_submodule("model.layers.0.mlp.gate")).__name__ == "OlmoeTopKRouter"


def test_fault_errors(mixtral):
    with pytest.raises(InvalidInput, match="kind"):
        SDCFault("melt")
    with pytest.raises(InvalidInput, match="activations"):
        SDCFault("target", "weights")
    with pytest.raises(InvalidInput, match="fraction"):
        SDCFault("sign", rate=0)
    with pytest.raises(InvalidInput, match="fraction"):
        SDCFault("sign", rate=1.5)
    with pytest.raises(InvalidType):
        inject(mixtral, "sign")
    with pytest.raises(InvalidType):
        corrupt_(torch.zeros(4, dtype=torch.int32), "sign")
    with pytest.raises(InvalidInput, match="contiguous"):
        corrupt_(torch.zeros(4, 4).t(), "sign")
    with pytest.raises(InvalidInput, match="layer"):
        inject(mixtral, SDCFault("sign"), layers=[7])
    with pytest.raises(InvalidInput, match="no MoE router named"):
        inject(mixtral, SDCFault("sign"), layers="model.layers.9.mlp.gate")
    with patch_moe_gates(mixtral, replicas=4) as handle:
        with pytest.raises(InvalidInput, match="PatchHandle"):
            inject(mixtral, SDCFault("sign"))
        with pytest.raises(InvalidInput, match="replica index"):
            inject(handle, SDCFault("sign"), replicas=[4])
    with pytest.raises(InvalidInput, match="undone"):
        inject(handle, SDCFault("sign"))
    assert torch.isfinite(run(mixtral, "mixtral").logits).all()


def _python(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_import_is_light_and_missing_extras_say_what_to_install():
    out = _python("import sys, openmoe_bft.hf, openmoe_bft.faults; "
                  "print('torch' in sys.modules, 'transformers' in sys.modules)")
    assert out.stdout.split() == ["False", "False"], out.stderr
    out = _python("import sys; sys.modules['torch'] = None\n"
                  "from openmoe_bft.errors import MissingDependency\n"
                  "try:\n    from openmoe_bft.hf import patch_moe_gates\n"
                  "except MissingDependency as e:\n    print(e)")
    assert "pip install 'openmoe-bft[hf]'" in out.stdout, out.stderr
    out = _python("import sys; sys.modules['transformers'] = None\n"
                  "import torch\nfrom openmoe_bft.hf import patch_moe_gates\n"
                  "try:\n    patch_moe_gates(torch.nn.Linear(2, 2))\n"
                  "except ImportError as e:\n    print(type(e).__name__, e)")
    assert out.stdout.startswith("MissingDependency") and "openmoe-bft[hf]" in out.stdout, out.stderr
    assert issubclass(MissingDependency, ImportError)


def test_transformers_4_gets_an_upgrade_hint(monkeypatch):
    import transformers

    monkeypatch.setattr(transformers, "__version__", "4.46.3")
    with pytest.raises(InvalidInput, match=r"transformers 4\.46\.3 is installed.*transformers>=5"):
        patch_moe_gates(torch.nn.Linear(4, 4))
