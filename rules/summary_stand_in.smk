# STAND-IN until issue 9 lands: that branch's `aggregate` rule writes summary.parquet and attack_summary.parquet
# itself. When merging it, delete this file, its include in the Snakefile, and the two summary_stand_in.py files.
rule summary_stand_in:
    """Summary tables (mean, std, 95 % t interval over seeds; Wilson interval for attackers) from today's tables."""
    input:
        cells=rules.aggregate.output.cells,
        attacks=rules.aggregate.output.attacks,
    output:
        summary=grid_path("tables/summary.parquet"),
        attack_summary=grid_path("tables/attack_summary.parquet"),
    log:
        grid_path("logs/summary_stand_in.log"),
    threads: 1
    script:
        "../workflow_scripts/summary_stand_in.py"
