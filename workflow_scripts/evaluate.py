from attrunlearn_core.jobs.evaluate import evaluate_cell

from _job import cell_of, run_job

i, p = snakemake.input, snakemake.params
run_job(
    snakemake, lambda: evaluate_cell(p.method_name, p.task, cell_of(snakemake.wildcards), i.report, i.fidelity, i.attacks, snakemake.output.metrics)
)
