from attrunlearn_core.pipeline.import_baseline import import_baseline

from _step import run_step

w = snakemake.wildcards
run_step(
    snakemake,
    lambda: import_baseline(
        snakemake.config, w.dataset, w.model, int(w.seed), snakemake.input.data, snakemake.input.checkpoint, snakemake.output.model
    ),
)
