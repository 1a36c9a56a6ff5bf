import pandas as pd

from attrunlearn_core.figures.html_table import summary_view, write_html_table

from _step import run_step


def main():
    frame = pd.read_parquet(snakemake.input.table)
    if snakemake.params.view == "summary":
        frame = summary_view(frame)
    write_html_table(frame, snakemake.output.html, snakemake.params.title, snakemake.params.note)


run_step(snakemake, main)
