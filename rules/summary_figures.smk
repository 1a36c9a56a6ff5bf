# Figures drawn from the grid's summary tables, one PNG per dataset and figure, flagged for the report. One job draws
# a dataset's three figures: they read the same two tables, and a job of its own each paid the process start three times.


rule summary_figures:
    """Per dataset: the fidelity–efficacy trade-off per method (chance lines, baseline-1 marked), each attacker's
    accuracy on z per method (site split, full pool), and attackers on a fraction against all of their pool."""
    input:
        summary=lambda w: rules.aggregate.output.summary,
        attack_summary=lambda w: rules.aggregate.output.attack_summary,
    output:
        trade_off=report(
            grid_path("figures/trade_off_{dataset}.png"), caption="../report/trade_off.rst", category="2 Trade-off", subcategory="{dataset}"
        ),
        attacker_accuracy=report(
            grid_path("figures/attacker_accuracy_{dataset}.png"),
            caption="../report/attacker_accuracy.rst",
            category="3 Attackers",
            subcategory="{dataset}",
        ),
        attacker_pool=report(
            grid_path("figures/attacker_pool_{dataset}.png"), caption="../report/attacker_pool.rst", category="3 Attackers", subcategory="{dataset}"
        ),
    log:
        grid_path("logs/figures/summary_figures_{dataset}.log"),
    benchmark:
        grid_path("benchmarks/summary_figures/{dataset}.tsv")
    threads: job_threads("summary_figures")
    resources:
        **job_resources("summary_figures"),
    script:
        "../workflow_scripts/summary_figures.py"


if SWEEP_HEATMAP:

    rule sweep_heatmap:
        """The paper's Fig. 6 for a `sweep:` grid: AUM over (lambda_2, lambda_3), one panel per lambda_1, one row per
        dataset × model × attribute."""
        input:
            summary=lambda w: rules.aggregate.output.summary,
        output:
            heatmap=report(grid_path("figures/sweep_heatmap.png"), caption="../report/sweep_heatmap.rst", category="7 Sensitivity"),
        log:
            grid_path("logs/figures/sweep_heatmap.log"),
        benchmark:
            grid_path("benchmarks/sweep_heatmap.tsv")
        threads: job_threads("sweep_heatmap")
        resources:
            **job_resources("sweep_heatmap"),
        script:
            "../workflow_scripts/sweep_heatmap.py"


if LEARNING_CURVE:

    rule learning_curve_figure:
        """Per dataset, for a grid with `attackers.curve_fractions`: each attacker's accuracy on z against the share of
        the pool it fit on, one panel per method, where it saturates marked."""
        input:
            summary=lambda w: rules.aggregate.output.summary,
            attack_summary=lambda w: rules.aggregate.output.attack_summary,
        output:
            curve=report(
                grid_path("figures/learning_curve_{dataset}.png"),
                caption="../report/learning_curve.rst",
                category="3 Attackers",
                subcategory="{dataset}",
            ),
        log:
            grid_path("logs/figures/learning_curve_{dataset}.log"),
        benchmark:
            grid_path("benchmarks/learning_curve_figure/{dataset}.tsv")
        threads: job_threads("learning_curve_figure")
        resources:
            **job_resources("learning_curve_figure"),
        script:
            "../workflow_scripts/learning_curve_figure.py"
