rule unlearn:
    """Apply one registered method (the method wildcard) to the checkpoint it starts from (baseline-1 for most)."""
    input:
        data=cell_data,
        start=start_checkpoint,
    output:
        model=cell_file("model.pt"),
        report=cell_file("method.json"),
    params:
        spec=lambda w: config["methods"][w.method],
    log:
        cell_file("unlearn.log"),
    benchmark:
        cell_file("unlearn.benchmark.tsv")
    threads: workflow.cores
    resources:
        gpu=1,
    script:
        "../workflow_scripts/apply_method.py"
