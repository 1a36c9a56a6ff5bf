# Baseline-2 (method gradcam_retrain): attribute classifier -> Grad-CAM masked copy of the dataset ->
# task model retrained from scratch on it. The cell's unlearn/evaluate rules then start from that model and run on
# the masked data (common.smk: start_checkpoint, cell_data); its Grad-CAM figure is attached to its MLflow run.
rule train_attribute_model:
    """The attribute (joint label for 'a+b') classifier whose Grad-CAM locates the attribute."""
    input:
        data=lambda w: rules.prepare.output.data,
    output:
        model=grid_path("models/{dataset}/{model}/seed{seed}/attribute_{attribute}_epochs{epochs}.pt"),
    log:
        grid_path("logs/train_attribute_model/{dataset}/{model}/seed{seed}/{attribute}_epochs{epochs}.log"),
    benchmark:
        grid_path("benchmarks/train_attribute_model/{dataset}/{model}/seed{seed}/{attribute}_epochs{epochs}.tsv")
    wildcard_constraints:
        epochs=r"\d+",
    threads: job_threads("train_attribute_model")
    resources:
        **job_resources("train_attribute_model"),
    params:
        model=lambda w: {key: value for key, value in model_of(w).items() if key in ("arch", "kwargs")},  # a plain classifier: no split
        recipe=lambda w: {key: value for key, value in recipe_of(w).items() if key != "epochs"},  # its epochs are the wildcard's
        device=config["device"],
    script:
        "../workflow_scripts/train_attribute_model.py"


rule mask_dataset:
    """Grad-CAM of every image's attribute label; the top `fraction` CAM pixels replaced by the fill."""
    input:
        data=lambda w: rules.prepare.output.data,
        attribute_model=attribute_model,
    output:
        data=grid_path("prepared_masked/{dataset}/{model}/{attribute}/{method}/seed{seed}.pt"),
    log:
        grid_path("logs/mask_dataset/{dataset}/{model}/{attribute}/{method}/seed{seed}.log"),
    benchmark:
        grid_path("benchmarks/mask_dataset/{dataset}/{model}/{attribute}/{method}/seed{seed}.tsv")
    threads: job_threads("mask_dataset")
    resources:
        **job_resources("mask_dataset"),
    params:
        cam=gradcam_params,
        device=config["device"],
    script:
        "../workflow_scripts/mask_dataset.py"


rule train_masked_baseline:
    """Baseline-2's task model: baseline-1's recipe and seed, from scratch on the masked images."""
    input:
        data=rules.mask_dataset.output.data,
    output:
        model=grid_path("models/{dataset}/{model}/seed{seed}/masked/{attribute}/{method}/baseline.pt"),
    log:
        grid_path("logs/train_masked_baseline/{dataset}/{model}/{attribute}/{method}/seed{seed}.log"),
    benchmark:
        grid_path("benchmarks/train_masked_baseline/{dataset}/{model}/{attribute}/{method}/seed{seed}.tsv")
    threads: job_threads("train_masked_baseline")
    resources:
        **job_resources("train_masked_baseline"),
    params:
        task=task_of,
        model=model_of,
        recipe=recipe_of,
        device=config["device"],
    script:
        "../workflow_scripts/train_baseline.py"


rule gradcam_figure:
    """The paper's Fig. 3 for one cell: test images, their attribute CAM, and their masked versions."""
    input:
        data=lambda w: rules.prepare.output.data,
        attribute_model=attribute_model,
        masked=rules.mask_dataset.output.data,
    output:
        figure=report(
            grid_path("figures/gradcam_{dataset}_{model}_{attribute}_{method}_seed{seed}.png"),
            caption="../report/gradcam.rst",
            category="4 Grad-CAM masking (baseline-2)",
            subcategory="{dataset}",
        ),
    log:
        grid_path("logs/gradcam_figure/{dataset}/{model}/{attribute}/{method}/seed{seed}.log"),
    benchmark:
        grid_path("benchmarks/gradcam_figure/{dataset}/{model}/{attribute}/{method}/seed{seed}.tsv")
    threads: job_threads("gradcam_figure")
    resources:
        **job_resources("gradcam_figure"),
    params:
        device=config["device"],
    script:
        "../workflow_scripts/gradcam_figure.py"
