# Two commands on a fresh machine: `make run` and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export PATH := $(abspath $(BIN)):$(PATH)
# The grid `make report` builds; its results live under results/<name>/ (the config's `name`, default `default`).
CONFIG ?= config.yaml
GRID = $(shell $(BIN)/python -c "import yaml; print((yaml.safe_load(open('$(CONFIG)')) or {}).get('name') or 'default')")

.PHONY: run test test-slurm ui report dry-run lint docs clean-results

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# After a crash or kill, the same command resumes (so does plain `snakemake --cores all`): the Snakefile removes a
# lock left by a dead run (a live run's is kept and the new run refused) and profiles/default reruns unfinished jobs.
run: $(STAMP)  ## run the default grid (config.yaml) with all cores
	$(BIN)/snakemake --cores all $(SNAKEMAKE_ARGS)

test: $(STAMP)  ## the whole test suite
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-slurm: $(STAMP)  ## the tiny grid on a one-node Slurm started here (root; installs slurm-wlm and munge when missing)
	ATTRUNLEARN_SLURM_TEST=1 scripts/single-node-slurm.sh run -- $(BIN)/python -m pytest tests/test_slurm_cluster.py $(PYTEST_ARGS)

ui: $(STAMP)  ## print each grid's runs page, then start MLflow's UI on the store
	@$(BIN)/python -m attrunlearn_core.tracking_links sqlite:///results/mlflow.db http://127.0.0.1:5000
	$(BIN)/mlflow ui --backend-store-uri sqlite:///results/mlflow.db

report: $(STAMP)  ## finish the grid CONFIG (default config.yaml), then write results/<name>/report.html
	$(BIN)/snakemake --cores all --configfile $(CONFIG) $(SNAKEMAKE_ARGS)
	$(BIN)/snakemake --cores 1 --configfile $(CONFIG) --report results/$(GRID)/report.html $(SNAKEMAKE_ARGS)

dry-run: $(STAMP)
	$(BIN)/snakemake -n --quiet rules $(SNAKEMAKE_ARGS)

lint: $(STAMP)  ## ruff, snakefmt and snakemake's own linter (scripts/lint_workflow.py): all three report, and it fails if any found something
	@status=0; \
	$(BIN)/ruff check . || status=1; \
	$(BIN)/snakefmt --check . || status=1; \
	$(BIN)/python scripts/lint_workflow.py || status=1; \
	exit $$status

docs: $(STAMP)  ## build the documentation site into site/ (strict: a broken internal link fails)
	$(BIN)/mkdocs build --strict

clean-results:  ## every grid's results and the MLflow store (results/README.md stays)
	rm -rf results/*/ results/mlflow.db
