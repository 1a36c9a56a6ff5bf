# A model entry with `checkpoint:` is imported as baseline-1 (the user's own weights); the others are trained.
# Each rule only matches its own models, so the two never compete for the same output.
rule train_baseline:
    """Baseline-1: the task model trained from scratch on the train split."""
    input:
        data=lambda w: rules.prepare.output.data,
    output:
        model=grid_path("models/{dataset}/{model}/seed{seed}/baseline.pt"),
    log:
        grid_path("logs/train_baseline/{dataset}/{model}/seed{seed}.log"),
    benchmark:
        grid_path("benchmarks/train_baseline/{dataset}/{model}/seed{seed}.tsv")
    wildcard_constraints:
        model=one_of(TRAINED_MODELS),
    threads: job_threads("train_baseline")
    resources:
        **job_resources("train_baseline"),
    params:
        task=task_of,
        model=model_of,
        recipe=recipe_of,
        device=config["device"],
    script:
        "../workflow_scripts/train_baseline.py"


rule import_baseline:
    """Baseline-1 from the user's state dict, checked against the architecture and the task's classes."""
    input:
        data=lambda w: rules.prepare.output.data,
        checkpoint=lambda w: config["models"][w.model]["checkpoint"],
    output:
        model=rules.train_baseline.output.model,
    log:
        grid_path("logs/import_baseline/{dataset}/{model}/seed{seed}.log"),
    benchmark:
        grid_path("benchmarks/import_baseline/{dataset}/{model}/seed{seed}.tsv")
    wildcard_constraints:
        model=one_of(USER_CHECKPOINT_MODELS),
    threads: job_threads("import_baseline")
    resources:
        **job_resources("import_baseline"),
    params:
        task=task_of,
        model=model_of,
        device=config["device"],
    script:
        "../workflow_scripts/import_baseline.py"
