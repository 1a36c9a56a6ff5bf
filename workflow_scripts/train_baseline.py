from attrunlearn_core.pipeline.train_baseline import train_baseline

from _step import run_step

w, p = snakemake.wildcards, snakemake.params
run_step(
    snakemake,
    lambda: train_baseline(
        w.dataset,
        w.model,
        int(w.seed),
        snakemake.input.data,
        snakemake.output.model,
        task=p.task,
        model_spec=p.model,
        recipe=p.recipe,
        device=p.device,
    ),
)
