rule aggregate:
    """Parquet tables and MLflow runs for the whole grid. The only rule that writes to MLflow."""
    input:
        metrics=[cell_path(rules.evaluate.output.metrics, cell) for cell in CELLS],
        artifacts=lambda w: sorted({path for paths in CELL_ARTIFACTS.values() for path in paths}),
    output:
        cells="results/tables/cells.parquet",
        attacks="results/tables/attacks.parquet",
        method_metrics="results/tables/method_metrics.parquet",
        summary="results/tables/summary.parquet",
        attack_summary="results/tables/attack_summary.parquet",
    params:
        cells=CELLS,
        artifact_root="results/mlflow-artifacts",
        artifacts=lambda w: CELL_ARTIFACTS,
    log:
        "results/logs/aggregate.log",
    conda:
        "../environment.yaml"
    threads: job_threads("aggregate")
    resources:
        **job_resources("aggregate"),
    script:
        "../workflow_scripts/aggregate_results.py"
