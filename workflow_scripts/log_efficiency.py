import logging

from attrunlearn_core.atomic import save_json
from attrunlearn_core.config import experiment_name
from attrunlearn_core.tracking_efficiency import log_efficiency_runs

from _step import run_step


def main():
    config = snakemake.config
    counts = log_efficiency_runs(
        config["mlflow"]["tracking_uri"], experiment_name(config), snakemake.params.artifact_root, snakemake.input.table, grid=config["name"]
    )
    logging.getLogger("attrunlearn").info("efficiency runs created %d, unchanged %d", counts["created"], counts["kept"])
    save_json(counts, snakemake.output.runs)


run_step(snakemake, main)
