rule extract_features:
    """Frozen h (at the split) and penultimate features of the attacker splits; fidelity on test."""
    input:
        data=cell_data,
        model=rules.unlearn.output.model,
    output:
        features=temp(cell_file("features.pt")),
        fidelity=cell_file("fidelity.json"),
    log:
        cell_file("extract_features.log"),
    conda:
        "../environment.yaml"
    threads: job_threads("extract_features")
    resources:
        **job_resources("extract_features"),
    script:
        "../workflow_scripts/extract_features.py"


rule fit_attacker:
    """Every configured attacker trained from scratch on (h, z) of attacker-train, scored on attacker-test."""
    input:
        data=cell_data,
        features=rules.extract_features.output.features,
    output:
        attacks=cell_file("attack_{site}.json"),
    params:
        spec=config["attackers"],
    log:
        cell_file("fit_attacker_{site}.log"),
    benchmark:
        cell_file("fit_attacker_{site}.benchmark.tsv")
    conda:
        "../environment.yaml"
    threads: job_threads("fit_attacker")
    resources:
        **job_resources("fit_attacker"),
    script:
        "../workflow_scripts/fit_attacker.py"


rule evaluate:
    """One grid cell's row: fidelity, per-attacker and worst-case efficacy with chance, AUM."""
    input:
        report=rules.unlearn.output.report,
        fidelity=rules.extract_features.output.fidelity,
        attacks=expand(cell_file("attack_{site}.json"), site=config["attackers"]["sites"], allow_missing=True),
    output:
        metrics=cell_file("metrics.json"),
    log:
        cell_file("evaluate.log"),
    conda:
        "../environment.yaml"
    threads: job_threads("evaluate")
    resources:
        **job_resources("evaluate"),
    script:
        "../workflow_scripts/evaluate_cell.py"
