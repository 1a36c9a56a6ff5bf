from _step import run_step

from attrunlearn_core.pipeline.extract_features import extract_cell_features

i, o = snakemake.input, snakemake.output
run_step(snakemake, lambda: extract_cell_features(snakemake.config, snakemake.wildcards.dataset, i.data, i.model, o.features, o.fidelity))
