from _step import cell_of, run_step

from attrunlearn_core.pipeline.evaluate_cell import evaluate_cell

i = snakemake.input
run_step(snakemake, lambda: evaluate_cell(snakemake.config, cell_of(snakemake.wildcards), i.report, i.fidelity, list(i.attacks), snakemake.output.metrics))
