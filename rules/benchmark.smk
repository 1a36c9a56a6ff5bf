# The efficiency table (the paper's Table 2), only when the config has a `benchmark:` section.
# Include after rules/aggregate.smk: log_efficiency runs after aggregate, so MLflow's sqlite store has one writer at a time.
if config.get("benchmark"):
    from attrunlearn_core.pipeline.benchmark_efficiency import BenchmarkSettings

    try:
        BENCHMARK = BenchmarkSettings.from_config(config)
    except ConfigError as error:
        sys.exit(f"attrunlearn: {error}")

    rule benchmark_efficiency:
        """Epoch latency and peak memory of detachment end_to_end vs local and of plain fine-tuning, per model, each in a fresh process."""
        input:
            data=expand(rules.prepare.output.data, dataset=BENCHMARK.dataset),
        output:
            table=RESULTS + "/tables/efficiency.parquet",
        log:
            RESULTS + "/logs/benchmark_efficiency.log",
        benchmark:
            RESULTS + "/benchmarks/benchmark_efficiency.tsv"
        conda:
            "../environment.yaml"
        threads: job_threads("benchmark_efficiency")
        resources:
            **job_resources("benchmark_efficiency"),
        script:
            "../workflow_scripts/benchmark_efficiency.py"

    localrules:
        log_efficiency,

    rule log_efficiency:
        """One MLflow run per benchmarked model (tag kind=efficiency); after aggregate, never beside it."""
        input:
            table=rules.benchmark_efficiency.output.table,
            after_aggregate=rules.aggregate.output.cells,
        output:
            runs=RESULTS + "/tables/efficiency.mlflow.json",
        log:
            RESULTS + "/logs/log_efficiency.log",
        conda:
            "../environment.yaml"
        threads: job_threads("log_efficiency")
        resources:
            **job_resources("log_efficiency"),
        params:
            artifact_root=RESULTS + "/mlflow-artifacts",
        script:
            "../workflow_scripts/log_efficiency.py"

    EXTRA_TARGETS += [rules.benchmark_efficiency.output.table, rules.log_efficiency.output.runs]
