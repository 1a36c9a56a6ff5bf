from attrunlearn_core.efficiency.table import efficiency_table

from _job import run_job

run_job(snakemake, lambda: efficiency_table(list(snakemake.input.measurements), snakemake.output.table))
