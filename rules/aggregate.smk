rule aggregate:
    """Parquet tables and MLflow runs for the whole grid. The first of the MLflow writers (localrules, common.smk)."""
    input:
        metrics=lambda w: [cell_path(rules.evaluate.output.metrics, cell) for cell in CELLS],
        artifacts=lambda w: sorted({path for paths in cell_artifacts().values() for path in paths}),
        prepared=lambda w: expand(rules.prepare.output.data, dataset=config["grid"]["datasets"]),  # digested for the MLflow parent run
    output:
        cells=grid_path("tables/cells.parquet"),
        attacks=grid_path("tables/attacks.parquet"),
        method_metrics=grid_path("tables/method_metrics.parquet"),
        summary=grid_path("tables/summary.parquet"),
        attack_summary=grid_path("tables/attack_summary.parquet"),
    log:
        grid_path("logs/aggregate.log"),
    benchmark:
        grid_path("benchmarks/aggregate.tsv")
    threads: job_threads("aggregate")
    resources:
        **job_resources("aggregate"),
    params:
        **MLFLOW,
        cells=CELLS,
        cell_params={cell.path: cell_run_params(config, cell) for cell in CELLS},
        datasets=config["grid"]["datasets"],
        artifacts=lambda w: cell_artifacts(),
    script:
        "../workflow_scripts/aggregate.py"
