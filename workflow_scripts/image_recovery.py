from attrunlearn_core.pipeline.image_recovery import image_recovery

from _step import cell_of, run_step

i, o = snakemake.input, snakemake.output
run_step(snakemake, lambda: image_recovery(snakemake.config, cell_of(snakemake.wildcards), i.data, i.baseline, i.model, o.figure, o.metrics))
