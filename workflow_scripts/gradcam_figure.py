from attrunlearn_core.pipeline.gradcam_figure import gradcam_figure

from _step import run_step

i = snakemake.input
run_step(
    snakemake,
    lambda: gradcam_figure(
        snakemake.wildcards.attribute, i.data, i.attribute_model, i.masked, snakemake.output.figure, device=snakemake.params.device
    ),
)
