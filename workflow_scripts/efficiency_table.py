from attrunlearn_core.pipeline.benchmark_efficiency import efficiency_table

from _step import run_step

run_step(snakemake, lambda: efficiency_table(list(snakemake.input.measurements), snakemake.output.table))
