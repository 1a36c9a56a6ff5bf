from attrunlearn_core.pipeline.train_attribute_model import train_attribute_model

from _step import run_step

w = snakemake.wildcards
run_step(
    snakemake,
    lambda: train_attribute_model(
        snakemake.config, w.dataset, w.model, w.attribute, int(w.seed), int(w.epochs), snakemake.input.data, snakemake.output.model
    ),
)
