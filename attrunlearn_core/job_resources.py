"""Threads, memory, wall time and GPUs of each workflow rule, from the config's `resources:` section.

The same numbers serve a local run (Snakemake scales threads down to `--cores`) and a cluster executor
(threads become `--cpus-per-task`, mem_mb `--mem`, runtime minutes `-t`, gpu `--gpus`). gpu is 0 unless a
config asks for more, so a CPU partition accepts every job; a job still uses CUDA when it finds it
(`device: auto`).
"""

from __future__ import annotations

from attrunlearn_core.errors import ConfigError

RESOURCE_KEYS = ("threads", "mem_mb", "runtime", "gpu")

# Used for any key the config leaves out. Heavy rules ask for 4 threads: a local `--cores 2` run scales that
# down to both cores, a cluster job gets 4.
BUILT_IN = {
    "default": {"threads": 1, "mem_mb": 4000, "runtime": 60, "gpu": 0},
    "prepare": {"threads": 2},
    "train_baseline": {"threads": 4, "runtime": 240},
    "unlearn": {"threads": 4, "runtime": 240},
    "train_attribute_model": {"threads": 4, "runtime": 240},
    "mask_dataset": {"threads": 4, "runtime": 120},
    "train_masked_baseline": {"threads": 4, "runtime": 240},
    "measure_efficiency": {"threads": 4, "runtime": 240},
}


def check_resource_rules(config: dict, rules: set[str], source: str = "config") -> None:
    """Every per-rule entry of `resources:` must name a rule of the workflow (a typo would be ignored)."""
    for name in config.get("resources", {}):
        if name != "default" and name not in rules:
            raise ConfigError(f"{source}: resources.{name}: no rule of that name (known: default, {', '.join(sorted(rules))})")


def rule_resources(config: dict, rule: str) -> dict[str, int]:
    """The rule's four numbers: its own entry over `default`, the config over the built-in table."""
    section = config.get("resources", {})
    layers = (BUILT_IN["default"], BUILT_IN.get(rule, {}), section.get("default", {}), section.get(rule, {}))
    merged = {}
    for layer in layers:
        merged.update(layer)
    return {key: int(merged[key]) for key in RESOURCE_KEYS}
