rule train_baseline:
    """Baseline-1: the task model trained from scratch on the train split."""
    input:
        data=rules.prepare.output.data,
    output:
        model="results/models/{dataset}/{model}/seed{seed}/baseline.pt",
    params:
        spec=lambda w: {"model": config["models"][w.model], "training": training_recipe(config, w.dataset)},
    log:
        "results/logs/train_baseline/{dataset}/{model}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train_baseline/{dataset}/{model}/seed{seed}.tsv"
    conda:
        "../environment.yaml"
    threads: job_threads("train_baseline")
    resources:
        **job_resources("train_baseline"),
    script:
        "../workflow_scripts/train_baseline.py"
