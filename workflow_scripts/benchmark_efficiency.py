from _step import run_step

from attrunlearn_core.pipeline.benchmark_efficiency import benchmark_efficiency

run_step(snakemake, lambda: benchmark_efficiency(snakemake.config, snakemake.input.data, snakemake.output.table, snakemake.threads))
