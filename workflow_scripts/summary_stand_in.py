# STAND-IN until issue 9's aggregate writes the summary tables (see attrunlearn_core/pipeline/summary_stand_in.py).
from _step import run_step

from attrunlearn_core.pipeline.summary_stand_in import write_summary_tables

i, o = snakemake.input, snakemake.output
run_step(snakemake, lambda: write_summary_tables(i.cells, i.attacks, o.summary, o.attack_summary))
