from attrunlearn_core.pipeline.apply_method import apply_method

from _step import cell_of, run_step

run_step(
    snakemake,
    lambda: apply_method(
        snakemake.config, cell_of(snakemake.wildcards), snakemake.input.data, snakemake.input.start, snakemake.output.model, snakemake.output.report
    ),
)
