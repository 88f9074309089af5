# Everything a fresh clone needs comes from the project's own files:
# Python packages from pyproject.toml into .venv, the CDK CLI and a supported Node from package-lock.json.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# The machine's Node when it is supported (22 or 24), else the lockfile's, chosen when each recipe runs
# (after npm ci): the CDK CLI, jsii and the Provider-framework harness all take `node` from PATH.
BASE_PATH := $(PATH)
COMMA := ,
export PATH = $(shell sh scripts/node-path)$(BASE_PATH)

# The oldest aws-cdk-lib the library supports: the floor of its range in pyproject.toml.
FLOOR_CDK = $(shell sed -n 's/.*"aws-cdk-lib>=\([0-9.]*\),.*/\1/p' pyproject.toml)
FLOOR_VENV := .venv-floor

.PHONY: setup test lint synth demo bench clean floor contract mutation lint-templates docs

# After npm ci: importing aws_cdk starts jsii on the Node that scripts/node-path chooses.
$(VENV)/.installed: pyproject.toml | node_modules/.installed
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -m pip install --quiet -e ".[dev]" 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -c "import aws_cdk, crhelper, moto, cfnlint, cdk_nag"
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: node_modules/.installed $(VENV)/.installed

lint: setup
	$(PY) -m ruff check .
	$(PY) -m mypy

# AWS's own tool, the judge of archive verification: the AWS CLI v1 pins one exact botocore, so it gets an
# environment of its own rather than tying the suite's boto3 to it (tests find it at $(AWSCLI_VENV)/bin/aws).
AWSCLI_VENV := .venv-awscli
AWSCLI_VERSION := 1.46.2
$(AWSCLI_VENV)/.installed: Makefile
	rm -rf $(AWSCLI_VENV)
	$(PYTHON) -m venv $(AWSCLI_VENV)
	$(AWSCLI_VENV)/bin/python -m pip install --quiet "awscli==$(AWSCLI_VERSION)" 2>&1 | sed '/^WARNING: Location/d'
	$(AWSCLI_VENV)/bin/aws --version
	touch $@

test: lint $(AWSCLI_VENV)/.installed
	$(PY) -m pytest
	$(MAKE) --no-print-directory floor

# The floor job: a second, clean environment with the oldest supported aws-cdk-lib, the wheel installed
# into it as a user's app would, then the example app and the construct and template tests.
$(FLOOR_VENV)/.installed: pyproject.toml $(VENV)/.installed
	rm -rf $(FLOOR_VENV) dist-floor
	$(PYTHON) -m venv $(FLOOR_VENV)
	$(FLOOR_VENV)/bin/python -m pip install --quiet --upgrade pip 2>&1 | sed '/^WARNING: Location/d'
	$(PY) -m pip wheel --quiet --no-deps -w dist-floor . 2>&1 | sed '/^WARNING: Location/d'
	$(FLOOR_VENV)/bin/python -m pip install --quiet "$$(ls dist-floor/*.whl)[dev]" "aws-cdk-lib==$(FLOOR_CDK)" \
		2>&1 | sed '/^WARNING: Location/d'
	$(FLOOR_VENV)/bin/python -c "import importlib.metadata as m; v = m.version('aws-cdk-lib'); \
		assert v == '$(FLOOR_CDK)', v; print('floor job: aws-cdk-lib', v)"
	touch $@

floor: setup $(FLOOR_VENV)/.installed
	CDK_OUTDIR=$$(mktemp -d) $(FLOOR_VENV)/bin/python app.py
	$(FLOOR_VENV)/bin/python -m pytest -q tests/test_constructs.py tests/test_iam.py tests/test_nag.py \
		tests/test_example_app.py tests/test_resource_type.py

synth: setup
	npx cdk synth --quiet
	@$(PY) scripts/synth_summary.py cdk.out

# cfn-lint over templates that use the registry type (default examples/*.yaml; TEMPLATES=a.yaml,b.yaml for others).
lint-templates: setup
	$(PY) scripts/lint_templates.py $(subst $(COMMA), ,$(TEMPLATES))

# The API reference (build/api/index.html), from the docstrings; fails naming any public name left undocumented.
docs: setup
	$(PY) scripts/api_docs.py

clean:
	rm -rf $(VENV) $(FLOOR_VENV) $(AWSCLI_VENV) dist-floor build node_modules cdk.out .pytest_cache .mypy_cache .ruff_cache

# AWS's resource contract tests (cfn test) against the registry type's handlers, offline; also run by the suite.
BUSY ?= 0
contract: setup
	timeout 600 $(PY) registry/contract_test.py --busy $(BUSY)

demo: setup
	$(PY) scripts/demo.py

bench: setup
	$(PY) bench/run.py

# Mutation testing of the handler package (docs/mutation/REPORT.md); MODULES=monitor,import_search for some of it.
# Not part of `make test`: the whole package is about 6,600 mutants, near three hours on two cores.
MODULES ?=
mutation: setup $(AWSCLI_VENV)/.installed
	$(PY) scripts/mutation.py $(subst $(COMMA), ,$(MODULES))
