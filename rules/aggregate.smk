rule aggregate:
    """Parquet tables and MLflow runs for the whole grid. The only rule that writes to MLflow."""
    input:
        metrics=[cell_path(rules.evaluate.output.metrics, cell) for cell in CELLS],
        artifacts=lambda w: sorted({path for paths in CELL_ARTIFACTS.values() for path in paths}),
        prepared=expand(rules.prepare.output.data, dataset=config["grid"]["datasets"]),  # digested for the MLflow parent run
    output:
        cells=RESULTS + "/tables/cells.parquet",
        attacks=RESULTS + "/tables/attacks.parquet",
        method_metrics=RESULTS + "/tables/method_metrics.parquet",
    params:
        cells=CELLS,
        datasets=config["grid"]["datasets"],
        artifact_root=RESULTS + "/mlflow-artifacts",
        artifacts=lambda w: CELL_ARTIFACTS,
    log:
        RESULTS + "/logs/aggregate.log",
    threads: 1
    script:
        "../workflow_scripts/aggregate_results.py"
