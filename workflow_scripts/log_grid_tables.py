from attrunlearn_core.atomic import save_json
from attrunlearn_core.config import experiment_name
from attrunlearn_core.tracking import GridInfo, log_grid_tables

from _step import run_step


def main():
    config = snakemake.config
    tables = [snakemake.input[name] for name in ("summary", "attack_summary", "cells", "attacks")] + list(snakemake.input.extra_tables)
    parent = log_grid_tables(
        config["mlflow"]["tracking_uri"], experiment_name(config), snakemake.params.artifact_root, GridInfo(config["name"]), tables
    )
    save_json({"grid": config["name"], "parent_run_id": parent, "experiment": experiment_name(config)}, snakemake.output.run)


run_step(snakemake, main)
