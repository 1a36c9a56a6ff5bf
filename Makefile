# Two commands on a fresh machine: `make run` and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export PATH := $(abspath $(BIN)):$(PATH)
# The grid `make report` builds; its results live under results/<name>/ (the config's `name`, default `default`).
CONFIG ?= config.yaml
GRID = $(shell $(BIN)/python -c "import yaml; print((yaml.safe_load(open('$(CONFIG)')) or {}).get('name') or 'default')")

.PHONY: run test ui report dry-run lint clean-results

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

run: $(STAMP)  ## run the default grid (config.yaml) with all cores
	$(BIN)/snakemake --cores all $(SNAKEMAKE_ARGS)

test: $(STAMP)  ## the whole test suite
	$(BIN)/python -m pytest $(PYTEST_ARGS)

ui: $(STAMP)  ## browse the runs
	$(BIN)/mlflow ui --backend-store-uri sqlite:///results/mlflow.db

report: $(STAMP)  ## finish the grid CONFIG (default config.yaml), then write results/<name>/report.html
	$(BIN)/snakemake --cores all --configfile $(CONFIG) $(SNAKEMAKE_ARGS)
	$(BIN)/snakemake --cores 1 --configfile $(CONFIG) --report results/$(GRID)/report.html $(SNAKEMAKE_ARGS)

dry-run: $(STAMP)
	$(BIN)/snakemake -n --quiet rules $(SNAKEMAKE_ARGS)

lint: $(STAMP)
	$(BIN)/snakemake --lint

clean-results:  ## every grid's results and the MLflow store (results/README.md stays)
	rm -rf results/*/ results/mlflow.db
