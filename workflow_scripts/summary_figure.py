from attrunlearn_core.figures.draw import draw_summary_figure

from _step import run_step

i = snakemake.input
run_step(
    snakemake, lambda: draw_summary_figure(snakemake.params.figure, i.summary, i.attack_summary, snakemake.wildcards.dataset, snakemake.output.figure)
)
