# Image recovery (the paper's Fig. 4) for the detachment cells of the grid's first seed (common.smk: cell_artifacts,
# which also attaches the figures to the cells' MLflow runs).
rule image_recovery:
    """Attacker-side decoders (from scratch) recover images from h of baseline-1 and of the unlearned model."""
    input:
        data=cell_data,
        baseline=lambda w: rules.train_baseline.output.model,
        model=lambda w: rules.unlearn.output.model,
    output:
        figure=report(
            grid_path("figures/recovery_{dataset}_{model}_{attribute}_{method}_seed{seed}.png"),
            caption="../report/recovery.rst",
            category="5 Image recovery (detachment)",
            subcategory="{dataset}",
        ),
        metrics=grid_path("figures/recovery_{dataset}_{model}_{attribute}_{method}_seed{seed}.json"),
    log:
        grid_path("logs/image_recovery/{dataset}_{model}_{attribute}_{method}_seed{seed}.log"),
    benchmark:
        grid_path("benchmarks/image_recovery/{dataset}/{model}/{attribute}/{method}/seed{seed}.tsv")
    threads: job_threads("image_recovery")
    resources:
        **job_resources("image_recovery"),
    params:
        recovery=config["recovery"],
        device=config["device"],
    script:
        "../workflow_scripts/image_recovery.py"
