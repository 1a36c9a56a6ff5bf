from attrunlearn_core.pipeline.train_attribute_model import train_attribute_model

from _step import run_step

w, p = snakemake.wildcards, snakemake.params
run_step(
    snakemake,
    lambda: train_attribute_model(
        w.dataset,
        w.model,
        w.attribute,
        int(w.seed),
        int(w.epochs),
        snakemake.input.data,
        snakemake.output.model,
        model_spec=p.model,
        recipe=p.recipe,
        device=p.device,
    ),
)
