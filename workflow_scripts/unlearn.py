from attrunlearn_core.jobs.unlearn import apply_method

from _job import cell_of, run_job

i, o, p = snakemake.input, snakemake.output, snakemake.params
run_job(
    snakemake,
    lambda: apply_method(
        cell_of(snakemake.wildcards),
        i.data,
        i.start,
        o.model,
        o.report,
        method=p.method,
        task=p.task,
        recipe=p.recipe,
        model_spec=p.model,
        device=p.device,
    ),
)
