# The efficiency table (the paper's Table 2), only when the config has a `benchmark:` section (common.smk: BENCHMARK).
if BENCHMARK:

    rule benchmark_efficiency:
        """Epoch latency and peak memory of detachment end_to_end vs local and of plain fine-tuning, per model, each in a fresh process."""
        input:
            data=lambda w: expand(rules.prepare.output.data, dataset=BENCHMARK.dataset),
        output:
            table=grid_path("tables/efficiency.parquet"),
        log:
            grid_path("logs/benchmark_efficiency.log"),
        benchmark:
            grid_path("benchmarks/benchmark_efficiency.tsv")
        conda:
            "../environment.yaml"
        threads: job_threads("benchmark_efficiency")
        resources:
            **job_resources("benchmark_efficiency"),
        script:
            "../workflow_scripts/benchmark_efficiency.py"

    rule log_efficiency:
        """One MLflow run per benchmarked model (tag kind=efficiency); after aggregate, never beside it."""
        input:
            table=rules.benchmark_efficiency.output.table,
            after_aggregate=lambda w: rules.aggregate.output.cells,
        output:
            runs=grid_path("tables/efficiency.mlflow.json"),
        log:
            grid_path("logs/log_efficiency.log"),
        conda:
            "../environment.yaml"
        threads: job_threads("log_efficiency")
        resources:
            **job_resources("log_efficiency"),
        params:
            **MLFLOW,
        script:
            "../workflow_scripts/log_efficiency.py"
