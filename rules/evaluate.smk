rule evaluate:
    """One grid cell's row: fidelity, worst-case efficacy with chance and chance given the task, saturation, AUM."""
    input:
        report=lambda w: rules.unlearn.output.report,
        fidelity=lambda w: rules.fit_attackers.output.fidelity,
        attacks=lambda w: rules.fit_attackers.output.attacks,
    output:
        metrics=cell_file("metrics.json"),
    log:
        cell_file("evaluate.log"),
    benchmark:
        grid_path("benchmarks/evaluate/{dataset}/{model}/{attribute}/{method}/seed{seed}.tsv")
    threads: job_threads("evaluate")
    resources:
        **job_resources("evaluate"),
    params:
        method_name=lambda w: config["methods"][w.method]["method"],
        task=task_of,
    script:
        "../workflow_scripts/evaluate.py"
