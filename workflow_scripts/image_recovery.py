from attrunlearn_core.pipeline.image_recovery import image_recovery

from _step import cell_of, run_step

i, o, p = snakemake.input, snakemake.output, snakemake.params
run_step(
    snakemake,
    lambda: image_recovery(cell_of(snakemake.wildcards), i.data, i.baseline, i.model, o.figure, o.metrics, recovery=p.recovery, device=p.device),
)
