# Image recovery (the paper's Fig. 4) for every detachment cell of the grid.
# The figures are attached to the cells' MLflow runs through CELL_ARTIFACTS.
RECOVERY_FIGURE = grid_path("figures/recovery_{dataset}_{model}_{attribute}_{method}_seed{seed}")


rule image_recovery:
    """Attacker-side decoders (from scratch) recover images from h of baseline-1 and of the unlearned model."""
    input:
        data=cell_data,
        baseline=START_CHECKPOINTS["baseline"],
        model=rules.unlearn.output.model,
    output:
        figure=report(RECOVERY_FIGURE + ".png", caption="../report/recovery.rst", category="5 Image recovery (detachment)", subcategory="{dataset}"),
        metrics=RECOVERY_FIGURE + ".json",
    log:
        grid_path("logs/image_recovery/{dataset}_{model}_{attribute}_{method}_seed{seed}.log"),
    conda:
        "../environment.yaml"
    threads: job_threads("image_recovery")
    resources:
        **job_resources("image_recovery"),
    script:
        "../workflow_scripts/image_recovery.py"


# The figure is a picture, not a statistic: drawn for the grid's first seed only, which keeps the grid's time.
for cell in CELLS:
    if method_class(cell.method).name == "detachment" and cell.seed == config["grid"]["seeds"][0]:
        recovery = [cell_path(RECOVERY_FIGURE + ".png", cell), cell_path(RECOVERY_FIGURE + ".json", cell)]
        CELL_ARTIFACTS.setdefault(cell.path, []).extend(recovery)
        EXTRA_TARGETS += recovery
