from pathlib import Path

from attrunlearn_core.jobs.aggregate import aggregate_results
from attrunlearn_core.tracking import grid_info

from _job import run_job

p, o = snakemake.params, snakemake.output
run_job(
    snakemake,
    lambda: aggregate_results(
        p.cells,
        list(snakemake.input.metrics),
        o.cells,
        o.attacks,
        o.method_metrics,
        o.summary,
        o.attack_summary,
        cell_params=p.cell_params,
        tracking_uri=p.tracking_uri,
        experiment=p.experiment,
        grid=grid_info(p.grid, dict(zip(p.datasets, snakemake.input.prepared, strict=True))),
        artifacts={cell: [Path(f) for f in files] for cell, files in p.artifacts.items()},
        mlflow_artifact_root=p.artifact_root,
    ),
)
