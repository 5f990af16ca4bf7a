# The SAM application's checks: sam validate --lint, cfn-lint, checkov, parliament and sam build; cfn-lint and checkov
# on member-role.yaml (the role each member account holds in organisation mode); cfn-lint on the state machines'
# definitions, which it does not read inside an AWS::Serverless::StateMachine.
# Included by the Makefile. The SAM CLI and the scanners each live in their own virtual environment: they pin
# boto3, click, networkx and packaging at versions that clash with the app's .venv/ and with each other.
PYTHON ?= python3
SAM_VENV := .venv-sam
CHECKS_VENV := .venv-checks
SAM_STAMP := $(SAM_VENV)/.installed-$(shell cksum < requirements-sam.txt | cut -d' ' -f1)
CHECKS_STAMP := $(CHECKS_VENV)/.installed-$(shell cksum < requirements-checks.txt | cut -d' ' -f1)
SAM_REGION ?= eu-west-1
SAM_ENV := SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=$(SAM_REGION)
MEMBER_TEMPLATE := member-role.yaml
# The state machines' definitions as plain AWS::StepFunctions::StateMachine resources (tests/state_machine.py).
ASL_CHECK := .aws-sam/asl-check.json
# sam build needs the runtime's interpreter as `python3.13`; pyenv machines have it as an installed version.
PY313_PYENV := $(shell command -v pyenv >/dev/null 2>&1 && pyenv versions --bare 2>/dev/null | grep -E '^3\.13(\.[0-9]+)?$$' | tail -n 1)

.PHONY: sam-venv checks-venv template-check sam-build

sam-venv: $(SAM_STAMP)

$(SAM_STAMP): requirements-sam.txt
	test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-sam.txt
	rm -f $(SAM_VENV)/.installed-* && touch $@

checks-venv: $(CHECKS_STAMP)

$(CHECKS_STAMP): requirements-checks.txt
	test -x $(CHECKS_VENV)/bin/python || $(PYTHON) -m venv $(CHECKS_VENV)
	$(CHECKS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checks.txt
	rm -f $(CHECKS_VENV)/.installed-* && touch $@

# The start of a recipe that needs the runtime's interpreter: sets py313 to "" (python3.13 is on the PATH) or to
# PYENV_VERSION=<version> (a pyenv version); where there is none, says that $(1) is skipped and ends the recipe
# without failing. $(2): what installing python3.13 allows.
define FIND_PY313
if python3.13 -c '' 2>/dev/null; then py313=""; \
elif [ -n "$(PY313_PYENV)" ] && PYENV_VERSION=$(PY313_PYENV) python3.13 -c '' 2>/dev/null; then \
	py313="PYENV_VERSION=$(PY313_PYENV)"; \
else \
	echo "$(1) skipped: no python3.13 on this machine (the function's runtime); install it to $(2)"; \
	exit 0; \
fi
endef

# Builds into .aws-sam/ (what `sam deploy` ships). Skipped, not failed, where python3.13 is missing.
define SAM_BUILD
$(call FIND_PY313,sam build,build); \
echo "$$py313 sam build --template-file template.yaml"; \
env $$py313 $(SAM_ENV) $(SAM_VENV)/bin/sam build --template-file template.yaml
endef

template-check: sam-venv checks-venv
	$(SAM_ENV) $(SAM_VENV)/bin/sam validate --lint --region $(SAM_REGION) --template-file template.yaml
	$(SAM_VENV)/bin/cfn-lint --regions $(SAM_REGION) -- template.yaml
	mkdir -p $(dir $(ASL_CHECK))
	$(CHECKS_VENV)/bin/python -m tests.state_machine template.yaml > $(ASL_CHECK)
	$(SAM_VENV)/bin/cfn-lint --regions $(SAM_REGION) -- $(ASL_CHECK)
	$(SAM_VENV)/bin/cfn-lint --regions $(SAM_REGION) -- $(MEMBER_TEMPLATE)
	$(CHECKS_VENV)/bin/checkov --skip-download --quiet --compact --framework cloudformation --file template.yaml
	$(CHECKS_VENV)/bin/checkov --skip-download --quiet --compact --framework cloudformation --file $(MEMBER_TEMPLATE)
	$(CHECKS_VENV)/bin/python -m tests.iam_policies template.yaml
	$(CHECKS_VENV)/bin/python -m tests.iam_policies $(MEMBER_TEMPLATE)
	@$(SAM_BUILD)

sam-build: sam-venv
	@$(SAM_BUILD)
