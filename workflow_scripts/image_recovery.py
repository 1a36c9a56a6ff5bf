from attrunlearn_core.jobs.image_recovery import image_recovery

from _job import cell_of, run_job

i, o, p = snakemake.input, snakemake.output, snakemake.params
run_job(
    snakemake,
    lambda: image_recovery(cell_of(snakemake.wildcards), i.data, i.baseline, i.model, o.figure, o.metrics, recovery=p.recovery, device=p.device),
)
