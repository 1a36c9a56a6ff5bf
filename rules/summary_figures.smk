# Figures drawn from the grid's summary tables, one PNG per dataset and figure, flagged for the report.


rule trade_off_figure:
    """Fidelity against worst-case attacker accuracy per method, with chance lines and baseline-1 marked."""
    input:
        summary=lambda w: rules.aggregate.output.summary,
        attack_summary=lambda w: rules.aggregate.output.attack_summary,
    output:
        figure=report(
            grid_path("figures/trade_off_{dataset}.png"), caption="../report/trade_off.rst", category="2 Trade-off", subcategory="{dataset}"
        ),
    log:
        grid_path("logs/figures/trade_off_{dataset}.log"),
    conda:
        "../environment.yaml"
    threads: job_threads("trade_off_figure")
    resources:
        **job_resources("trade_off_figure"),
    params:
        figure="trade_off",
    script:
        "../workflow_scripts/summary_figure.py"


rule attacker_accuracy_figure:
    """Each attacker's accuracy on z per method (site split, full attacker pool)."""
    input:
        summary=lambda w: rules.aggregate.output.summary,
        attack_summary=lambda w: rules.aggregate.output.attack_summary,
    output:
        figure=report(
            grid_path("figures/attacker_accuracy_{dataset}.png"),
            caption="../report/attacker_accuracy.rst",
            category="3 Attackers",
            subcategory="{dataset}",
        ),
    log:
        grid_path("logs/figures/attacker_accuracy_{dataset}.log"),
    conda:
        "../environment.yaml"
    threads: job_threads("attacker_accuracy_figure")
    resources:
        **job_resources("attacker_accuracy_figure"),
    params:
        figure="attacker_accuracy",
    script:
        "../workflow_scripts/summary_figure.py"


rule attacker_pool_figure:
    """Attackers trained on a fraction and on all of their pool, per method (is efficacy still climbing with data?)."""
    input:
        summary=lambda w: rules.aggregate.output.summary,
        attack_summary=lambda w: rules.aggregate.output.attack_summary,
    output:
        figure=report(
            grid_path("figures/attacker_pool_{dataset}.png"), caption="../report/attacker_pool.rst", category="3 Attackers", subcategory="{dataset}"
        ),
    log:
        grid_path("logs/figures/attacker_pool_{dataset}.log"),
    conda:
        "../environment.yaml"
    threads: job_threads("attacker_pool_figure")
    resources:
        **job_resources("attacker_pool_figure"),
    params:
        figure="attacker_pool",
    script:
        "../workflow_scripts/summary_figure.py"
