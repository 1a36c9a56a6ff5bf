from attrunlearn_core.jobs.mask_dataset import mask_dataset

from _job import run_job

i, p = snakemake.input, snakemake.params
run_job(snakemake, lambda: mask_dataset(snakemake.wildcards.attribute, i.data, i.attribute_model, snakemake.output.data, cam=p.cam, device=p.device))
