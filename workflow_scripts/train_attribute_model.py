from attrunlearn_core.jobs.train_attribute_model import train_attribute_model

from _job import run_job

w, p = snakemake.wildcards, snakemake.params
run_job(
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
