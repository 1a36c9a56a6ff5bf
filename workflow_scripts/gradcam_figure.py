from attrunlearn_core.jobs.gradcam_figure import gradcam_figure

from _job import run_job

i = snakemake.input
run_job(
    snakemake,
    lambda: gradcam_figure(
        snakemake.wildcards.attribute, i.data, i.attribute_model, i.masked, snakemake.output.figure, device=snakemake.params.device
    ),
)
