from attrunlearn_core.pipeline.fit_attackers import fit_cell_attackers

from _step import cell_of, run_step

i, o, p = snakemake.input, snakemake.output, snakemake.params
run_step(snakemake, lambda: fit_cell_attackers(p.attackers, p.task, p.device, cell_of(snakemake.wildcards), i.data, i.model, o.attacks, o.fidelity))
