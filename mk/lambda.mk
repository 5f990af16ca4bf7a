# The built function in the Lambda runtime, without Docker: sam build's .aws-sam/build/AuditFunction run by the
# Runtime Interface Emulator that ships inside the SAM CLI package, with awslambdaric on python3.13 from its own
# virtual environment, against the embedded local AWS and DNS of `make demo` (tools/lambda_runtime.py drives it).
# Included by the Makefile after mk/sam.mk; `make test` runs it after template-check, which builds.
LAMBDA_VENV := .venv-lambda
LAMBDA_STAMP := $(LAMBDA_VENV)/.installed-$(shell cksum < requirements-lambda.txt | cut -d' ' -f1)
SAM_BUILD_DIR ?= .aws-sam/build

.PHONY: lambda-venv lambda-check

lambda-venv: $(LAMBDA_STAMP)

# Made with python3.13 itself (the function's runtime), so skipped with the build where that is missing.
$(LAMBDA_STAMP): requirements-lambda.txt
	@$(call FIND_PY313,the Lambda runtime venv,create it); \
	set -e; \
	if [ ! -x $(LAMBDA_VENV)/bin/python ]; then \
		echo "$$py313 python3.13 -m venv $(LAMBDA_VENV)"; env $$py313 python3.13 -m venv $(LAMBDA_VENV); \
	fi; \
	echo "$(LAMBDA_VENV)/bin/python -m pip install -r requirements-lambda.txt"; \
	$(LAMBDA_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-lambda.txt; \
	rm -f $(LAMBDA_VENV)/.installed-* && touch $@

# Runs the last build: `make test` builds it first (template-check); alone, `make sam-build` refreshes it.
lambda-check: venv sam-venv
	@$(call FIND_PY313,Lambda runtime check,run it); \
	$(MAKE) --no-print-directory lambda-venv && \
	$(BIN)/python -m tools.lambda_runtime --build $(SAM_BUILD_DIR) --runtime-venv $(LAMBDA_VENV) --sam-venv $(SAM_VENV)
