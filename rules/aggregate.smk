rule aggregate:
    """Parquet tables and MLflow runs for the whole grid. The only rule that writes to MLflow."""
    input:
        metrics=[cell_path(rules.evaluate.output.metrics, cell) for cell in CELLS],
    output:
        cells="results/tables/cells.parquet",
        attacks="results/tables/attacks.parquet",
        method_metrics="results/tables/method_metrics.parquet",
    params:
        cells=CELLS,
        artifact_root="results/mlflow-artifacts",
    log:
        "results/logs/aggregate.log",
    threads: 1
    script:
        "../workflow_scripts/aggregate_results.py"
