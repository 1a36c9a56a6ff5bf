# The efficiency table (the paper's Table 2), only when the config has an `efficiency:` section (common.smk: EFFICIENCY).
# One job per model and mode, so each is a process of its own and each peak memory that mode's own.
if EFFICIENCY:

    rule measure_efficiency:
        """One model's epoch latency and peak memory in one mode: detachment end_to_end or local (schedules), or plain fine-tuning."""
        input:
            data=lambda w: rules.prepare.output.data.format(dataset=EFFICIENCY.dataset),
            # Timings compare only if no two measurements share the machine: each waits for the one before it
            # (common.smk: previous_measurement), so they never run side by side, whatever --cores or the executor allow.
            previous=previous_measurement,
        output:
            measurement=grid_path("efficiency/{model}/{mode}.json"),
        log:
            grid_path("logs/measure_efficiency/{model}/{mode}.log"),
        benchmark:
            grid_path("benchmarks/measure_efficiency/{model}/{mode}.tsv")
        wildcard_constraints:
            model=one_of(EFFICIENCY.models),
            mode=one_of(EFFICIENCY_MODES),
        # The heavy rules' threads: a local run scales them to --cores, so no other job runs beside a measurement there.
        threads: job_threads("measure_efficiency")
        resources:
            **job_resources("measure_efficiency"),
        params:
            spec=lambda w: EFFICIENCY.measurement_spec(config, w.model),
        script:
            "../workflow_scripts/measure_efficiency.py"

    rule efficiency_table:
        """One row per model from its measurements: latencies, speed-ups, memory ratios (EFFICIENCY_SCHEMA)."""
        input:
            measurements=expand(rules.measure_efficiency.output.measurement, model=EFFICIENCY.models, mode=EFFICIENCY_MODES),
        output:
            table=grid_path("tables/efficiency.parquet"),
        log:
            grid_path("logs/efficiency_table.log"),
        benchmark:
            grid_path("benchmarks/efficiency_table.tsv")
        threads: job_threads("efficiency_table")
        resources:
            **job_resources("efficiency_table"),
        script:
            "../workflow_scripts/efficiency_table.py"

    rule log_efficiency:
        """One MLflow run per measured model (tag kind=efficiency); after aggregate, never beside it."""
        input:
            table=rules.efficiency_table.output.table,
            after_aggregate=lambda w: rules.aggregate.output.cells,
        output:
            runs=grid_path("tables/efficiency.mlflow.json"),
        log:
            grid_path("logs/log_efficiency.log"),
        benchmark:
            grid_path("benchmarks/log_efficiency.tsv")
        threads: job_threads("log_efficiency")
        resources:
            **job_resources("log_efficiency"),
        params:
            **MLFLOW,
        script:
            "../workflow_scripts/log_efficiency.py"
