rule prepare:
    """Decode, resize and split a dataset once into a uint8 tensor cache."""
    output:
        data=RESULTS + "/prepared/{dataset}.pt",
    params:
        spec=lambda w: {"dataset": config["datasets"][w.dataset], "seed": config["seed"]},
    log:
        RESULTS + "/logs/prepare/{dataset}.log",
    benchmark:
        RESULTS + "/benchmarks/prepare/{dataset}.tsv"
    threads: 2
    script:
        "../workflow_scripts/prepare_dataset.py"
