from attrunlearn_core.efficiency.measure import measure_efficiency

from _job import run_job

run_job(
    snakemake,
    lambda: measure_efficiency(
        snakemake.params.spec, snakemake.wildcards.mode, snakemake.input.data, snakemake.threads, snakemake.output.measurement
    ),
)
