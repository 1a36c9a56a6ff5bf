import logging

from _step import run_step

from attrunlearn_core.atomic import save_json
from attrunlearn_core.tracking_efficiency import log_efficiency_runs


def main():
    mlflow = snakemake.config["mlflow"]
    counts = log_efficiency_runs(mlflow["tracking_uri"], mlflow["experiment"], snakemake.params.artifact_root, snakemake.input.table)
    logging.getLogger("attrunlearn").info("efficiency runs created %d, unchanged %d", counts["created"], counts["kept"])
    save_json(counts, snakemake.output.runs)


run_step(snakemake, main)
