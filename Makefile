# Two commands for a new user: `make serve` and `make test`. Both create .venv and install when needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: serve test lint install images bench clean

$(STAMP): pyproject.toml client/pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	# The client and trainer adapters: their own distribution (client/), which the server never imports.
	$(BIN)/pip install -q -e ./client
	# OpenRLHF's own remote reward client (openrlhf.utils.agent) for its CI test, without OpenRLHF's GPU stack
	# (deepspeed, vllm, flash-attn): the package alone; what that module imports is in the dev extra.
	$(BIN)/pip install -q --no-deps openrlhf==0.11.2
	touch $(STAMP)

# verl's own venv for its reward-loop tests: verl pins antlr4-python3-runtime 4.9 (hydra), which breaks the
# server's latex2sympy2 (4.7.2). It holds verl, torch and arbiter-client, nothing of the server.
VERL_VENV  := .venv-verl
VERL_STAMP := $(VERL_VENV)/.installed

$(VERL_STAMP): client/pyproject.toml
	test -d $(VERL_VENV) || $(PYTHON) -m venv $(VERL_VENV)
	$(VERL_VENV)/bin/pip install -q --upgrade pip
	$(VERL_VENV)/bin/pip install -q torch==2.13.0 verl==0.9.1 -e ./client
	touch $(VERL_STAMP)

install: $(STAMP) $(VERL_STAMP)

serve: $(STAMP)
	$(BIN)/arbiter serve --host $(HOST) --port $(PORT)

test: $(STAMP) $(VERL_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Static checks, run by .ci/run before the tests: ruff (lint + format), mypy, the import contracts.
lint: $(STAMP)
	$(BIN)/ruff check app sandbox client tests bench examples
	$(BIN)/ruff format --check app sandbox client tests bench examples
	$(BIN)/mypy
	$(BIN)/lint-imports

# The sandbox image (and, once it exists, the service image); builds debian:bookworm-slim with debootstrap
# first when no registry can provide it.
images:
	bash scripts/build-images.sh

# Every benchmark, each printing its figures beside a baseline measured in the same run (see README).
bench: $(STAMP) $(VERL_STAMP)
	$(BIN)/python bench/math_bench.py --http
	$(BIN)/python bench/math_bench.py --http --corpus real
	$(BIN)/python bench/fork_floor.py
	$(BIN)/python bench/code_bench.py --backend all
	$(BIN)/python bench/code_bench.py --only http --backend all
	$(BIN)/python bench/code_bench.py --build-cache --backend all
	$(BIN)/python bench/grpo_step.py --backend auto
	$(BIN)/python bench/load.py
	$(BIN)/python bench/trainer_paths.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
