import pandas as pd

from attrunlearn_core.figures.html_table import summary_view, write_html_table

from _job import run_job


def main():
    for name, page in snakemake.params.pages.items():  # input, output and page share a name
        frame = pd.read_parquet(snakemake.input[name])
        if page["view"] == "summary":
            frame = summary_view(frame)
        write_html_table(frame, snakemake.output[name], page["title"], page["note"])


run_job(snakemake, main)
