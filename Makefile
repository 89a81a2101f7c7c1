# Each target bootstraps .venv (python3 -m venv) and installs what it needs.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
# torch==2.13.0 is the only torch spec that installs from the local CPU wheel here.
EXTRAS  ?= dev,torch,a2a,mcp,x402,ray,red-team

.PHONY: demo test test-slow bench serve lint clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# byzfl is the aggregators' parity reference; --no-deps because it declares unpinned
# torch/torchvision (torch==2.13.0 comes from the [torch] extra, scipy from [dev]).
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	$(BIN)/python -m pip install --quiet --no-deps "byzfl==0.0.11"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/openmoe-bft demo

test: $(STAMP)
	$(BIN)/python -m pytest

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_consensus.py
	$(BIN)/python benchmarks/bench_receipts.py
	$(BIN)/python benchmarks/bench_aggregators.py
	$(BIN)/python benchmarks/bench_router.py
	$(BIN)/python benchmarks/bench_torch_gate.py
	$(BIN)/python benchmarks/bench_compliance.py
	$(BIN)/python benchmarks/bench_hf.py
	$(BIN)/python benchmarks/sdc.py
	$(BIN)/python benchmarks/robustness.py
	$(BIN)/python benchmarks/bench_memory.py
	$(BIN)/python benchmarks/bench_trust.py
	$(BIN)/python benchmarks/bench_distributed.py
	$(BIN)/python benchmarks/bench_mcp.py
	$(BIN)/python benchmarks/bench_red_team.py

serve: $(STAMP)
	$(BIN)/openmoe-bft serve

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
