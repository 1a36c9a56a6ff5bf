from attrunlearn_core.jobs.import_baseline import import_baseline

from _job import run_job

w, p = snakemake.wildcards, snakemake.params
run_job(
    snakemake,
    lambda: import_baseline(
        w.dataset,
        w.model,
        int(w.seed),
        snakemake.input.data,
        snakemake.input.checkpoint,
        snakemake.output.model,
        task=p.task,
        model_spec=p.model,
        device=p.device,
    ),
)
