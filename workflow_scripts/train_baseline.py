from attrunlearn_core.jobs.train_baseline import train_baseline

from _job import run_job

w, p = snakemake.wildcards, snakemake.params
run_job(
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
