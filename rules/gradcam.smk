# Baseline-2 (method gradcam_retrain): attribute classifier -> Grad-CAM masked copy of the dataset ->
# task model retrained from scratch on it. The cell's unlearn/evaluate rules then start from that
# model and run on the masked data, through the START_CHECKPOINTS / CELL_DATA hooks below.
from attrunlearn_core.pipeline.mask_dataset import masking_params

ATTRIBUTE_MODEL = RESULTS + "/models/{dataset}/{model}/seed{seed}/attribute_{attribute}_epochs{epochs}.pt"
MASKED_DATA = RESULTS + "/prepared_masked/{dataset}/{model}/{attribute}/{method}/seed{seed}.pt"
MASKED_BASELINE = RESULTS + "/models/{dataset}/{model}/seed{seed}/masked/{attribute}/{method}/baseline.pt"
GRADCAM_FIGURE = RESULTS + "/figures/gradcam_{dataset}_{model}_{attribute}_{method}_seed{seed}.png"

START_CHECKPOINTS["masked_baseline"] = MASKED_BASELINE
CELL_DATA["masked_baseline"] = MASKED_DATA

GRADCAM_CELLS = [cell for cell in CELLS if method_class(cell.method).starts_from == "masked_baseline"]
EXTRA_TARGETS += [cell_path(GRADCAM_FIGURE, cell) for cell in GRADCAM_CELLS]
for cell in GRADCAM_CELLS:
    CELL_ARTIFACTS.setdefault(cell.path, []).append(cell_path(GRADCAM_FIGURE, cell))


def gradcam_params(wildcards):
    return masking_params(config, wildcards.method, wildcards.dataset, wildcards.model)


def attribute_model(wildcards):
    # Keyed by epoch count, not by grid method: methods differing only in CAM settings share it.
    return ATTRIBUTE_MODEL.format(epochs=gradcam_params(wildcards)["attribute_epochs"], **wildcards)


rule train_attribute_model:
    """The attribute (joint label for 'a+b') classifier whose Grad-CAM locates the attribute."""
    input:
        data=RESULTS + "/prepared/{dataset}.pt",
    output:
        model=ATTRIBUTE_MODEL,
    log:
        RESULTS + "/logs/train_attribute_model/{dataset}/{model}/seed{seed}/{attribute}_epochs{epochs}.log",
    benchmark:
        RESULTS + "/benchmarks/train_attribute_model/{dataset}/{model}/seed{seed}/{attribute}_epochs{epochs}.tsv"
    wildcard_constraints:
        epochs=r"\d+",
    conda:
        "../environment.yaml"
    threads: job_threads("train_attribute_model")
    resources:
        **job_resources("train_attribute_model"),
    params:
        spec=lambda w: {
            **{k: v for k, v in config["models"][w.model].items() if k in ("arch", "kwargs")},
            "training": training_recipe(config, w.dataset),
        },
    script:
        "../workflow_scripts/train_attribute_model.py"


rule mask_dataset:
    """Grad-CAM of every image's attribute label; the top `fraction` CAM pixels replaced by the fill."""
    input:
        data=RESULTS + "/prepared/{dataset}.pt",
        attribute_model=attribute_model,
    output:
        data=MASKED_DATA,
    log:
        RESULTS + "/logs/mask_dataset/{dataset}/{model}/{attribute}/{method}/seed{seed}.log",
    benchmark:
        RESULTS + "/benchmarks/mask_dataset/{dataset}/{model}/{attribute}/{method}/seed{seed}.tsv"
    conda:
        "../environment.yaml"
    threads: job_threads("mask_dataset")
    resources:
        **job_resources("mask_dataset"),
    params:
        cam=gradcam_params,
    script:
        "../workflow_scripts/mask_dataset.py"


rule train_masked_baseline:
    """Baseline-2's task model: baseline-1's recipe and seed, from scratch on the masked images."""
    input:
        data=MASKED_DATA,
    output:
        model=MASKED_BASELINE,
    log:
        RESULTS + "/logs/train_masked_baseline/{dataset}/{model}/{attribute}/{method}/seed{seed}.log",
    benchmark:
        RESULTS + "/benchmarks/train_masked_baseline/{dataset}/{model}/{attribute}/{method}/seed{seed}.tsv"
    conda:
        "../environment.yaml"
    threads: job_threads("train_masked_baseline")
    resources:
        **job_resources("train_masked_baseline"),
    params:
        spec=lambda w: {"model": config["models"][w.model], "training": training_recipe(config, w.dataset)},
    script:
        "../workflow_scripts/train_baseline.py"


rule gradcam_figure:
    """The paper's Fig. 3 for one cell: test images, their attribute CAM, and their masked versions."""
    input:
        data=RESULTS + "/prepared/{dataset}.pt",
        attribute_model=attribute_model,
        masked=MASKED_DATA,
    output:
        figure=report(GRADCAM_FIGURE, caption="../report/gradcam.rst", category="4 Grad-CAM masking (baseline-2)", subcategory="{dataset}"),
    log:
        RESULTS + "/logs/gradcam_figure/{dataset}/{model}/{attribute}/{method}/seed{seed}.log",
    conda:
        "../environment.yaml"
    threads: job_threads("gradcam_figure")
    resources:
        **job_resources("gradcam_figure"),
    script:
        "../workflow_scripts/gradcam_figure.py"
