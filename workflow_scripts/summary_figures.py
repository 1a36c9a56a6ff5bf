from attrunlearn_core.figures.draw import FIGURES, draw_summary_figure

from _job import run_job


def main():
    for figure in FIGURES:  # each named output of the rule is the figure of the same name
        draw_summary_figure(figure, snakemake.input.summary, snakemake.input.attack_summary, snakemake.wildcards.dataset, snakemake.output[figure])


run_job(snakemake, main)
