from attrunlearn_core.pipeline.unlearn import apply_method

from _step import cell_of, run_step

i, o, p = snakemake.input, snakemake.output, snakemake.params
run_step(
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
