from snakemake.utils import min_version

min_version("9.0")


# config.yaml is the default grid, not a base layer: `--configfile other.yaml` replaces it rather than being
# merged into it (a merge would carry config.yaml's datasets and benchmark into every other grid).
# `--config key=value` still overrides single keys of whichever file is used.
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


include: "rules/common.smk"
include: "rules/prepare.smk"
include: "rules/baseline.smk"
include: "rules/unlearn.smk"
include: "rules/fit_attackers.smk"
include: "rules/evaluate.smk"
include: "rules/aggregate.smk"
include: "rules/gradcam.smk"
include: "rules/image_recovery.smk"
include: "rules/efficiency.smk"
include: "rules/summary_figures.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        final_targets(),
