import pandas as pd

from attrunlearn_core.figures.sweep_heatmap import write_sweep_heatmap

from _job import run_job


def main():
    write_sweep_heatmap(pd.read_parquet(snakemake.input.summary), snakemake.output.heatmap)


run_job(snakemake, main)
