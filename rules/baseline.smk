rule train_baseline:
    """Baseline-1: the task model trained from scratch on the train split."""
    input:
        data=rules.prepare.output.data,
    output:
        model=grid_path("models/{dataset}/{model}/seed{seed}/baseline.pt"),
    params:
        spec=lambda w: {"model": config["models"][w.model], "training": training_recipe(config, w.dataset)},
    log:
        grid_path("logs/train_baseline/{dataset}/{model}/seed{seed}.log"),
    benchmark:
        grid_path("benchmarks/train_baseline/{dataset}/{model}/seed{seed}.tsv")
    threads: workflow.cores
    resources:
        gpu=1,
    script:
        "../workflow_scripts/train_baseline.py"
