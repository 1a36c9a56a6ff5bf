from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "rules/common.smk"
include: "rules/prepare.smk"
include: "rules/baseline.smk"
include: "rules/unlearn.smk"
include: "rules/evaluate.smk"
include: "rules/aggregate.smk"
include: "rules/gradcam.smk"
include: "rules/figures.smk"
include: "rules/benchmark.smk"


rule all:
    default_target: True
    input:
        final_targets(),
