from attrunlearn_core.pipeline.prepare_dataset import prepare_dataset

from _step import run_step

run_step(snakemake, lambda: prepare_dataset(snakemake.config, snakemake.wildcards.dataset, snakemake.output.data))
