import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(path, capsys, monkeypatch, tmp_path):
    if path.name == "bft_gate_training.py":
        pytest.importorskip("torch")
    if path.name == "hf_patch_mixtral.py":
        pytest.importorskip("torch")
        pytest.importorskip("transformers")
    monkeypatch.setattr(sys, "argv", [str(path), str(tmp_path / "x.db")])
    runpy.run_path(str(path), run_name="__main__")
    assert capsys.readouterr().out.strip()


def test_there_are_examples():
    assert len(EXAMPLES) >= 3
