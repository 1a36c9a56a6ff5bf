# The grid's report (`snakemake --report results/<name>/report.html`, or `make report`): tables as HTML pages and the
# figures, each flagged with a caption from report/. Also logs the summary tables to the grid's MLflow parent run.
report: "../report/workflow.rst"


rule report_tables:
    """The summary, cells and attackers tables as HTML pages (one job: the three pages are small)."""
    input:
        summary=lambda w: rules.aggregate.output.summary,
        cells=lambda w: rules.aggregate.output.cells,
        attack_summary=lambda w: rules.aggregate.output.attack_summary,
    output:
        summary=report(grid_path("report/summary.html"), caption="../report/summary_table.rst", category="1 Tables"),
        cells=report(grid_path("report/cells.html"), caption="../report/cells_table.rst", category="1 Tables"),
        attack_summary=report(grid_path("report/attack_summary.html"), caption="../report/attack_summary_table.rst", category="1 Tables"),
    log:
        grid_path("logs/report/report_tables.log"),
    benchmark:
        grid_path("benchmarks/report_tables.tsv")
    threads: job_threads("report_tables")
    resources:
        **job_resources("report_tables"),
    params:
        # per output: the table's view, its title and a note under the title
        pages={
            "summary": {
                "view": "summary",
                "title": "Summary: one row per dataset × model × attribute × method",
                "note": "Each metric is the mean over seeds with its 95 % t interval in brackets (none with one seed).",
            },
            "cells": {"view": "plain", "title": "Cells: one row per dataset × model × attribute × method × seed", "note": ""},
            "attack_summary": {
                "view": "plain",
                "title": "Attackers: one row per dataset × model × attribute × method × site × attacker × pool",
                "note": "",
            },
        },
    script:
        "../workflow_scripts/html_table.py"


if EFFICIENCY:

    rule efficiency_table_html:
        input:
            efficiency=lambda w: rules.efficiency_table.output.table,
        output:
            efficiency=report(grid_path("report/efficiency.html"), caption="../report/efficiency_table.rst", category="6 Efficiency"),
        log:
            grid_path("logs/report/efficiency_table_html.log"),
        benchmark:
            grid_path("benchmarks/efficiency_table_html.tsv")
        threads: job_threads("efficiency_table_html")
        resources:
            **job_resources("efficiency_table_html"),
        params:
            pages={
                "efficiency": {
                    "view": "plain",
                    "title": "Efficiency of detachment: end-to-end against local, per model",
                    "note": "Seconds per unlearning epoch, speed-ups and peak memory, measured in one run on one machine.",
                }
            },
        script:
            "../workflow_scripts/html_table.py"


rule log_grid_tables:
    """The summary tables (and the efficiency table) as artifacts of the grid's MLflow parent run."""
    input:
        summary=lambda w: rules.aggregate.output.summary,
        attack_summary=lambda w: rules.aggregate.output.attack_summary,
        cells=lambda w: rules.aggregate.output.cells,
        attacks=lambda w: rules.aggregate.output.attacks,
        extra_tables=lambda w: [rules.efficiency_table.output.table] if EFFICIENCY else [],
        after_efficiency_runs=lambda w: [rules.log_efficiency.output.runs] if EFFICIENCY else [],  # one sqlite writer at a time
    output:
        run=grid_path("tables/grid.mlflow.json"),
    log:
        grid_path("logs/log_grid_tables.log"),
    benchmark:
        grid_path("benchmarks/log_grid_tables.tsv")
    threads: job_threads("log_grid_tables")
    resources:
        **job_resources("log_grid_tables"),
    params:
        **MLFLOW,
    script:
        "../workflow_scripts/log_grid_tables.py"
