from attrunlearn_core.pipeline.train_baseline import train_baseline

from _step import run_step

w = snakemake.wildcards
run_step(snakemake, lambda: train_baseline(snakemake.config, w.dataset, w.model, int(w.seed), snakemake.input.data, snakemake.output.model))
