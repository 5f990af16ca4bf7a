# The README's two commands: `make demo` and `make test`. Everything they need is installed here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements-dev.txt src/requirements.txt pyproject.toml | cksum | cut -d' ' -f1)

include mk/sam.mk
include mk/lambda.mk

.PHONY: help venv chromium demo test lint typecheck unit bench report-png clean

help:
	@echo "make demo   - audit a small embedded account (local AWS + DNS, no credentials)"
	@echo "make test   - set up .venv and run every check CI runs"
	@echo "make lambda-check - run the last sam build in the Lambda runtime emulator, no Docker (part of make test)"
	@echo "make bench  - calls, DNS queries, time and memory at 10,000 identities; outputs at 3,000; an org of 20 accounts"

venv: $(STAMP)

$(STAMP): requirements-dev.txt src/requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is needed (set PYTHON=...)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	rm -f $(VENV)/.installed-* && touch $@

# The HTML report's test opens the page in headless Chromium: Debian's package, installed when missing (the package
# lists are refreshed only when the install fails without them).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_INSTALL := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium

chromium:
	@command -v chromium >/dev/null 2>&1 || $(APT_INSTALL) || { $(SUDO) apt-get update && $(APT_INSTALL); }

demo: venv
	$(BIN)/python -m tools.demo

lint: venv
	$(BIN)/ruff check src tests tools
	$(BIN)/ruff format --check src tests tools

typecheck: venv
	$(BIN)/mypy

unit: venv chromium
	$(BIN)/python -m pytest --cov --cov-branch --cov-report=term

# In this order: lambda-check runs the function that template-check built.
test: lint typecheck unit template-check lambda-check

bench: venv
	$(BIN)/python -m tools.bench
	$(BIN)/python -m tools.bench_org

# docs/report.png: the demo account's HTML report in headless Chromium.
report-png: venv chromium
	$(BIN)/python -m tools.report_png

clean:
	rm -rf $(VENV) $(SAM_VENV) $(CHECKS_VENV) $(LAMBDA_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache .coverage .hypothesis src/*.egg-info
