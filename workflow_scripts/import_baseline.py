from attrunlearn_core.pipeline.import_baseline import import_baseline

from _step import run_step

w, p = snakemake.wildcards, snakemake.params
run_step(
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
