from attrunlearn_core.atomic import save_json
from attrunlearn_core.tracking import GridInfo, log_grid_tables

from _job import run_job


def main():
    p = snakemake.params
    tables = [snakemake.input[name] for name in ("summary", "attack_summary", "cells", "attacks")] + list(snakemake.input.extra_tables)
    parent = log_grid_tables(p.tracking_uri, p.experiment, p.artifact_root, GridInfo(p.grid), tables)
    save_json({"grid": p.grid, "parent_run_id": parent, "experiment": p.experiment}, snakemake.output.run)


run_job(snakemake, main)
