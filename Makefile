# Two commands on a fresh machine: `make run` and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: run test ui dry-run lint clean-results

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# After a crash or kill, `make run` again resumes: a lock left by a dead run is removed (a live run's is kept and
# the new run refused) and jobs the killed run left incomplete are rerun.
run: $(STAMP)  ## run the default grid (config.yaml) with all cores
	$(BIN)/python -m attrunlearn_core.stale_lock .
	$(BIN)/snakemake --cores all --rerun-incomplete $(SNAKEMAKE_ARGS)

test: $(STAMP)  ## the whole test suite
	$(BIN)/python -m pytest $(PYTEST_ARGS)

ui: $(STAMP)  ## browse the runs
	$(BIN)/mlflow ui --backend-store-uri sqlite:///results/mlflow.db

dry-run: $(STAMP)
	$(BIN)/snakemake -n --quiet rules --rerun-incomplete $(SNAKEMAKE_ARGS)

lint: $(STAMP)
	$(BIN)/snakemake --lint

clean-results:
	rm -rf results/prepared results/models results/cells results/tables results/figures results/logs results/benchmarks results/mlflow.db results/mlflow-artifacts
