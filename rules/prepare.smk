rule prepare:
    """Decode, resize and split a dataset once into a uint8 tensor cache."""
    output:
        data=grid_path("prepared/{dataset}.pt"),
    log:
        grid_path("logs/prepare/{dataset}.log"),
    benchmark:
        grid_path("benchmarks/prepare/{dataset}.tsv")
    threads: job_threads("prepare")
    resources:
        **job_resources("prepare"),
    params:
        spec=lambda w: dataset_spec(config, w.dataset),
        data_seed=config["seed"],
    script:
        "../workflow_scripts/prepare.py"
