from mlflow.tracking import MlflowClient

from attrunlearn_core.atomic import save_json
from attrunlearn_core.tracking import GridInfo, log_grid_tables
from attrunlearn_core.tracking_links import runs_page

from _job import run_job


def main():
    p = snakemake.params
    tables = [snakemake.input[name] for name in ("summary", "attack_summary", "cells", "attacks")] + list(snakemake.input.extra_tables)
    parent = log_grid_tables(p.tracking_uri, p.experiment, p.artifact_root, GridInfo(p.grid), tables)
    experiment_id = MlflowClient(tracking_uri=p.tracking_uri).get_run(parent).info.experiment_id
    save_json({"grid": p.grid, "parent_run_id": parent, "experiment": p.experiment, "runs_page": runs_page(experiment_id)}, snakemake.output.run)
    print(f"attrunlearn: the grid's runs in `make ui`: {runs_page(experiment_id)}")


run_job(snakemake, main)
