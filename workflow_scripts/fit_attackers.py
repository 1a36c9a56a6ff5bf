from attrunlearn_core.jobs.fit_attackers import fit_cell_attackers

from _job import cell_of, run_job

i, o, p = snakemake.input, snakemake.output, snakemake.params
run_job(snakemake, lambda: fit_cell_attackers(p.attackers, p.task, p.device, cell_of(snakemake.wildcards), i.data, i.model, o.attacks, o.fidelity))
