from attrunlearn_core.pipeline.mask_dataset import mask_dataset

from _step import run_step

i, p = snakemake.input, snakemake.params
run_step(snakemake, lambda: mask_dataset(snakemake.wildcards.attribute, i.data, i.attribute_model, snakemake.output.data, cam=p.cam, device=p.device))
