from attrunlearn_core.pipeline.benchmark_efficiency import benchmark_efficiency

from _step import run_step

run_step(snakemake, lambda: benchmark_efficiency(snakemake.config, snakemake.input.data, snakemake.output.table, snakemake.threads))
