from attrunlearn_core.pipeline.mask_dataset import mask_dataset

from _step import run_step

w, i = snakemake.wildcards, snakemake.input
run_step(snakemake, lambda: mask_dataset(snakemake.config, w.attribute, snakemake.params.cam, i.data, i.attribute_model, snakemake.output.data))
