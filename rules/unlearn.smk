rule unlearn:
    """Apply one registered method (the method wildcard) to the checkpoint it starts from (baseline-1 for most)."""
    input:
        data=cell_data,
        start=start_checkpoint,
    output:
        model=cell_file("model.pt"),
        report=cell_file("method.json"),
    log:
        cell_file("unlearn.log"),
    benchmark:
        grid_path("benchmarks/unlearn/{dataset}/{model}/{attribute}/{method}/seed{seed}.tsv")
    threads: job_threads("unlearn")
    resources:
        **job_resources("unlearn"),
    params:
        method=resolved_method,
        task=task_of,
        recipe=recipe_of,
        model=model_of,
        device=config["device"],
    script:
        "../workflow_scripts/unlearn.py"
