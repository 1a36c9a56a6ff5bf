# Image recovery (the paper's Fig. 4) for every detachment cell of the grid.
# Include before rules/aggregate.smk so the aggregate rule can attach RECOVERY_ARTIFACTS to the cells' MLflow runs.
RECOVERY_FIGURE = RESULTS + "/figures/recovery_{dataset}_{model}_{attribute}_{method}_seed{seed}"


rule image_recovery:
    """Attacker-side decoders (from scratch) recover images from h of baseline-1 and of the unlearned model."""
    input:
        data=cell_data,
        baseline=START_CHECKPOINTS["baseline"],
        model=rules.unlearn.output.model,
    output:
        figure=RECOVERY_FIGURE + ".png",
        metrics=RECOVERY_FIGURE + ".json",
    log:
        RESULTS + "/logs/image_recovery/{dataset}_{model}_{attribute}_{method}_seed{seed}.log",
    threads: 1
    resources:
        gpu=1,
    script:
        "../workflow_scripts/image_recovery.py"


# cell path -> [figure, metrics] for the cells that get a recovery figure
RECOVERY_ARTIFACTS = {
    cell.path: [cell_path(RECOVERY_FIGURE + ".png", cell), cell_path(RECOVERY_FIGURE + ".json", cell)]
    for cell in CELLS
    if method_class(cell.method).name == "detachment"
}
EXTRA_TARGETS += [path for paths in RECOVERY_ARTIFACTS.values() for path in paths]
