# Everything a fresh clone needs comes from the project's own files:
# Python packages from pyproject.toml into .venv, the CDK CLI and a supported Node from package-lock.json.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# The machine's Node when it is supported (22 or 24), else the lockfile's, chosen when each recipe runs
# (after npm ci): the CDK CLI, jsii and the Provider-framework harness all take `node` from PATH.
BASE_PATH := $(PATH)
export PATH = $(shell sh scripts/node-path)$(BASE_PATH)

.PHONY: setup test lint synth demo bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -m pip install --quiet -e ".[dev]" 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -c "import aws_cdk, crhelper, moto, cfnlint, cdk_nag"
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(VENV)/.installed node_modules/.installed

lint: setup
	$(PY) -m ruff check .
	$(PY) -m mypy

test: lint
	$(PY) -m pytest

synth: setup
	npx cdk synth --quiet
	@$(PY) scripts/synth_summary.py cdk.out

clean:
	rm -rf $(VENV) node_modules cdk.out .pytest_cache .mypy_cache .ruff_cache

demo: setup
	$(PY) scripts/demo.py

bench: setup
	$(PY) bench/run.py
