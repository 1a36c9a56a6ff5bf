"""The config's `efficiency:` section (its keys and types are checked by the config schema) and the spec one
measurement reads of the config."""

from __future__ import annotations

from dataclasses import dataclass, field

from attrunlearn_core.config import attribute_names, training_recipe
from attrunlearn_core.errors import ConfigError


@dataclass
class EfficiencySettings:
    dataset: str
    models: list[str]
    epochs: int = 2  # timed epochs per mode
    warmup_steps: int = 3  # untimed steps first (allocator, kernel selection)
    batch_size: int = 0  # 0: the dataset's training batch size
    method: str | None = None  # a grid method name whose params the measurement uses (its mode is overridden)
    params: dict = field(default_factory=dict)  # further overrides of the detachment params
    max_steps: int = 0  # >0: cap the steps of an epoch (quick runs, tests)
    fast_steps: bool = True  # false: time the steps without the GPU options (attrunlearn_core/fast_steps.py)

    @classmethod
    def from_config(cls, config: dict) -> EfficiencySettings:
        """The names the section refers to must exist in the config (the schema checks the rest)."""
        settings = cls(**config["efficiency"])
        if settings.dataset not in config["datasets"]:
            raise ConfigError(f"efficiency.dataset: {settings.dataset!r} is not defined under datasets:")
        for model in settings.models:
            if model not in config["models"]:
                raise ConfigError(f"efficiency.models: {model!r} is not defined under models:")
        if settings.method is not None and config["methods"].get(settings.method, {}).get("method") != "detachment":
            raise ConfigError(f"efficiency.method: {settings.method!r} is not a grid method of kind detachment")
        return settings

    def detachment_params(self, config: dict) -> dict:
        """Every detachment parameter, resolved over the method's defaults (a changed default reruns the measurement)."""
        from attrunlearn_core.methods.detachment import Detachment

        base = dict(config["methods"][self.method].get("params", {})) if self.method else {}
        return Detachment.resolve_params({**base, **self.params})

    def measurement_spec(self, config: dict, model_name: str) -> dict:
        """What measuring `model_name` reads of the config, whatever the mode (a measurement job's params)."""
        recipe = training_recipe(config, self.dataset)
        model = config["models"][model_name]
        return {
            "dataset": self.dataset,
            "model": model_name,
            "model_spec": {"split_after": "layer2", **{key: model[key] for key in ("arch", "split_after", "kwargs") if key in model}},
            "task": config["datasets"][self.dataset]["task"],
            "attribute": attribute_names(config, self.dataset)[0],
            "batch_size": self.batch_size or recipe["batch_size"],
            "hflip": recipe.get("hflip", True),
            "epochs": self.epochs,
            "warmup_steps": self.warmup_steps,
            "max_steps": self.max_steps,
            "fast_steps": self.fast_steps,
            "params": self.detachment_params(config),
            "device": config.get("device", "auto"),
            "seed": config["seed"],
        }
