import pandas as pd

from attrunlearn_core.figures.common import save_figure
from attrunlearn_core.figures.learning_curve import learning_curve_figure

from _job import run_job


def main():
    summary, attacks = pd.read_parquet(snakemake.input.summary), pd.read_parquet(snakemake.input.attack_summary)
    save_figure(learning_curve_figure(attacks, summary, snakemake.wildcards.dataset), snakemake.output.curve)


run_job(snakemake, main)
