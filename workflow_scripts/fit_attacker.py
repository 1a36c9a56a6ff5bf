from _step import cell_of, run_step

from attrunlearn_core.pipeline.fit_attackers import fit_cell_attackers

w = snakemake.wildcards
run_step(snakemake, lambda: fit_cell_attackers(snakemake.config, cell_of(w), w.site, snakemake.input.data, snakemake.input.features, snakemake.output.attacks))
