"""Shared glue for the scripts: thread count and the logged, one-line-error runner."""

import sys

from attrunlearn_core.config import Cell
from attrunlearn_core.divergence import set_job
from attrunlearn_core.runlog import run_logged


def run_job(snakemake, main) -> None:
    torch = sys.modules.get("torch")  # steps that only read JSON never import it
    if torch is not None:
        torch.set_num_threads(max(1, int(snakemake.threads)))
    set_job(" ".join([snakemake.rule, "/".join(str(value) for _, value in snakemake.wildcards.items())]).strip())
    run_logged(snakemake.log[0] if snakemake.log else None, main)


def cell_of(wildcards) -> Cell:
    return Cell(wildcards.dataset, wildcards.model, wildcards.attribute, wildcards.method, int(wildcards.seed))
