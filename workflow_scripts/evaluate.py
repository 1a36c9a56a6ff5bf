from attrunlearn_core.pipeline.evaluate import evaluate_cell

from _step import cell_of, run_step

i, p = snakemake.input, snakemake.params
run_step(
    snakemake, lambda: evaluate_cell(p.method_name, p.task, cell_of(snakemake.wildcards), i.report, i.fidelity, i.attacks, snakemake.output.metrics)
)
