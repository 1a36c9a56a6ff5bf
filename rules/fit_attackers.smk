rule fit_attackers:
    """h and penultimate features under the unlearned model; every attacker trained from scratch on its pool
    (attacker-train + train by default) and on half of it, scored on attacker-test; fidelity on test."""
    input:
        data=cell_data,
        model=lambda w: rules.unlearn.output.model,
    output:
        attacks=cell_file("attacks.json"),
        fidelity=cell_file("fidelity.json"),
    log:
        cell_file("fit_attackers.log"),
    benchmark:
        grid_path("benchmarks/fit_attackers/{dataset}/{model}/{attribute}/{method}/seed{seed}.tsv")
    threads: job_threads("fit_attackers")
    resources:
        **job_resources("fit_attackers"),
    params:
        attackers=config["attackers"],
        task=task_of,
        device=config["device"],
    script:
        "../workflow_scripts/fit_attackers.py"
