from attrunlearn_core.jobs.prepare import prepare_dataset

from _job import run_job

p = snakemake.params
run_job(snakemake, lambda: prepare_dataset(snakemake.wildcards.dataset, p.spec, p.data_seed, snakemake.output.data))
