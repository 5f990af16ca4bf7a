# The README's two commands: `make demo` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements-dev.txt src/requirements.txt pyproject.toml | cksum | cut -d' ' -f1)

include mk/sam.mk

.PHONY: help venv demo test lint typecheck unit bench clean

help:
	@echo "make demo   - audit a small embedded account (local AWS + DNS, no credentials)"
	@echo "make test   - set up .venv and run every check CI runs"
	@echo "make bench  - SES calls per identity, wall time and peak memory at 1,000 identities"

venv: $(STAMP)

$(STAMP): requirements-dev.txt src/requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is needed (set PYTHON=...)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	rm -f $(VENV)/.installed-* && touch $@

demo: venv
	$(BIN)/python -m tools.demo

lint: venv
	$(BIN)/ruff check src tests tools
	$(BIN)/ruff format --check src tests tools

typecheck: venv
	$(BIN)/mypy

unit: venv
	$(BIN)/python -m pytest --cov --cov-branch --cov-report=term --cov-fail-under=90

test: lint typecheck unit template-check

bench: venv
	$(BIN)/python -m tools.bench

clean:
	rm -rf $(VENV) $(SAM_VENV) $(CHECKS_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache .coverage .hypothesis src/*.egg-info
