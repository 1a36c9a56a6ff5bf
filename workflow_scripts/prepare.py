from attrunlearn_core.pipeline.prepare import prepare_dataset

from _step import run_step

p = snakemake.params
run_step(snakemake, lambda: prepare_dataset(snakemake.wildcards.dataset, p.spec, p.data_seed, snakemake.output.data))
