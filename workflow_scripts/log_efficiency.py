import logging

from attrunlearn_core.atomic import save_json
from attrunlearn_core.tracking_efficiency import log_efficiency_runs

from _job import run_job


def main():
    p = snakemake.params
    counts = log_efficiency_runs(p.tracking_uri, p.experiment, p.artifact_root, snakemake.input.table, grid=p.grid)
    logging.getLogger("attrunlearn").info("efficiency runs created %d, unchanged %d", counts["created"], counts["kept"])
    save_json(counts, snakemake.output.runs)


run_job(snakemake, main)
