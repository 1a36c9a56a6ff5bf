from _step import run_step

from attrunlearn_core.pipeline.gradcam_figure import gradcam_figure

i = snakemake.input
run_step(snakemake, lambda: gradcam_figure(snakemake.config, snakemake.wildcards.attribute, i.data, i.attribute_model, i.masked, snakemake.output.figure))
