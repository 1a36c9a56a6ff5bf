from attrunlearn_core.pipeline.benchmark_efficiency import measure_efficiency

from _step import run_step

run_step(
    snakemake,
    lambda: measure_efficiency(
        snakemake.params.spec, snakemake.wildcards.mode, snakemake.input.data, snakemake.threads, snakemake.output.measurement
    ),
)
