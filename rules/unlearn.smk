rule unlearn:
    """Apply one registered method (the method wildcard) to the checkpoint it starts from (baseline-1 for most)."""
    input:
        data=cell_data,
        start=start_checkpoint,
    output:
        model=CELL_DIR + "/model.pt",
    params:
        spec=lambda w: config["methods"][w.method],
    log:
        CELL_DIR + "/unlearn.log",
    benchmark:
        CELL_DIR + "/unlearn.benchmark.tsv"
    threads: workflow.cores
    resources:
        gpu=1,
    script:
        "../workflow_scripts/apply_method.py"
