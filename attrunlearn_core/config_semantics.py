"""Checks of a schema-valid config that need to know what the names mean (run at DAG build, one line naming the key).

- an attribute to unlearn is never the task, nor has the task among its parts;
- every label a dataset names is one its loader provides;
- the splits fit the dataset where its size is known before reading it;
- every module a model or method names exists in the architecture.
"""

from __future__ import annotations

from attrunlearn_core.errors import ConfigError


def _listed(labels: list[str], shown: int = 12) -> str:
    return ", ".join(labels[:shown]) + (", ..." if len(labels) > shown else "")


def attribute_parts_of(attribute) -> list[str]:
    return list(attribute) if isinstance(attribute, list) else attribute.split("+")


def dataset_capacity(spec: dict) -> tuple[int, str] | None:
    """(most images the dataset can give, the key that says so), or None when only reading the data tells."""
    from attrunlearn_core.datasets import get_dataset_loader

    limits = [(spec["max_samples"], "max_samples")] if spec.get("max_samples") else []
    declared = get_dataset_loader(spec["loader"]).capacity(spec.get("options", {}))
    if declared is not None:
        limits.append(declared)
    return min(limits) if limits else None


def check_dataset(name: str, spec: dict, source: str) -> None:
    from attrunlearn_core.datasets import get_dataset_loader

    key = f"{source}: datasets.{name}"
    labels = get_dataset_loader(spec["loader"]).labels
    if labels is not None and spec["task"] not in labels:
        raise ConfigError(f"{key}.task: {spec['task']!r} is not a label of loader {spec['loader']} (it has: {_listed(labels)})")
    for attribute in spec["attributes"]:
        parts = attribute_parts_of(attribute)
        shown = "+".join(parts)
        if spec["task"] in parts:
            what = "is the task" if len(parts) == 1 else f"contains the task {spec['task']!r}"
            raise ConfigError(f"{key}.attributes: {shown!r} {what} (datasets.{name}.task); the attribute to unlearn must differ from the task")
        if len(set(parts)) != len(parts):
            raise ConfigError(f"{key}.attributes: {shown!r} names a label twice")
        unknown = [part for part in parts if labels is not None and part not in labels]
        if unknown:
            raise ConfigError(f"{key}.attributes: {unknown[0]!r} is not a label of loader {spec['loader']} (it has: {_listed(labels)})")
    wanted = sum(spec["splits"].values())
    capacity = dataset_capacity(spec)
    if capacity is not None and wanted > capacity[0]:
        sizes = ", ".join(f"{split}={size}" for split, size in spec["splits"].items())
        raise ConfigError(f"{key}.splits: the splits ask for {wanted} images ({sizes}) but {capacity[1]} allows only {capacity[0]}")


def _module_names(arch: str) -> set[str]:
    import torch
    import torchvision

    with torch.device("meta"):  # no weights are allocated: only the module tree is needed
        model = torchvision.models.get_model(arch, weights=None)
    return {name for name, _ in model.named_modules() if name}


def check_modules(config: dict, source: str) -> None:
    from attrunlearn_core.methods import get_method_class

    used_models = set(config["grid"]["models"])
    names = {arch: _module_names(arch) for arch in {config["models"][m]["arch"] for m in used_models}}
    for model in sorted(used_models):
        spec = config["models"][model]
        if spec["split_after"] not in names[spec["arch"]]:
            raise ConfigError(
                f"{source}: models.{model}.split_after: {spec['arch']} has no module {spec['split_after']!r} "
                f"(e.g. {', '.join(sorted(n for n in names[spec['arch']] if '.' not in n))})"
            )
    for method in config["grid"]["methods"]:
        params = get_method_class(config["methods"][method]["method"]).resolve_params(config["methods"][method].get("params", {}))
        layer = params.get("target_layer")
        for model in sorted(used_models):
            arch = config["models"][model]["arch"]
            if layer and layer not in names[arch]:
                raise ConfigError(f"{source}: methods.{method}.params.target_layer: {arch} (models.{model}) has no module {layer!r}")


def check_semantics(config: dict, source: str = "config") -> None:
    for name in config["grid"]["datasets"]:
        check_dataset(name, config["datasets"][name], source)
    check_modules(config, source)
