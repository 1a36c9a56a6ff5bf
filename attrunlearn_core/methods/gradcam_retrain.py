"""Baseline-2 (the paper's Fig. 3): remove the attribute from the input, then retrain from scratch.

The work happens in the workflow before this method runs (rules/gradcam.smk): an attribute
classifier is trained, Grad-CAM locates the attribute in every image, the top `fraction` of
each image's CAM pixels is replaced by `fill`, and the task model is retrained on the masked
images with baseline-1's recipe. The cell is then trained and evaluated on masked images, so
`unlearn` receives that retrained model and returns it unchanged, reporting the masking's numbers.
"""

from __future__ import annotations

from attrunlearn_core.errors import ConfigError
from attrunlearn_core.gradcam_masking import CAM_METHODS, FILLS
from attrunlearn_core.methods import register_method
from attrunlearn_core.methods.base import MethodResult, UnlearningContext, UnlearningMethod
from attrunlearn_core.models import SplitModel


@register_method
class GradcamRetrain(UnlearningMethod):
    name = "gradcam_retrain"
    starts_from = "masked_baseline"
    DEFAULTS = {
        "cam": "gradcam",  # one of gradcam_masking.CAM_METHODS
        "target_layer": None,  # a module of the attribute classifier; None = the model's split_after (the split point)
        "fraction": 0.3,  # share of each image's pixels removed: those with the highest CAM
        "fill": "mean",  # mean (the train split's mean colour), zero (black) or blur
        "attribute_epochs": 3,  # attribute classifier's epochs (None = the baseline recipe's); rest of its recipe = baseline's
        "cam_batch_size": 256,
    }

    @classmethod
    def resolve_params(cls, params: dict) -> dict:
        resolved = super().resolve_params(params)
        problems = []
        if resolved["cam"] not in CAM_METHODS:
            problems.append(f"cam {resolved['cam']!r} is not one of {', '.join(CAM_METHODS)}")
        if resolved["fill"] not in FILLS:
            problems.append(f"fill {resolved['fill']!r} is not one of {', '.join(FILLS)}")
        if isinstance(resolved["fraction"], bool) or not isinstance(resolved["fraction"], (int, float)) or not 0 <= resolved["fraction"] <= 1:
            problems.append(f"fraction must be a number in [0, 1], got {resolved['fraction']!r}")
        epochs = resolved["attribute_epochs"]
        if epochs is not None and (isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1):
            problems.append(f"attribute_epochs must be a positive integer or null, got {epochs!r}")
        if isinstance(resolved["cam_batch_size"], bool) or not isinstance(resolved["cam_batch_size"], int) or resolved["cam_batch_size"] < 1:
            problems.append(f"cam_batch_size must be a positive integer, got {resolved['cam_batch_size']!r}")
        if resolved["target_layer"] is not None and (not isinstance(resolved["target_layer"], str) or not resolved["target_layer"]):
            problems.append(f"target_layer must be a module name or null, got {resolved['target_layer']!r}")
        if problems:
            raise ConfigError(f"{cls.name}: {'; '.join(problems)}")
        return resolved

    def unlearn(self, model: SplitModel, context: UnlearningContext) -> MethodResult:
        report = context.prepared.meta.get("gradcam", {})
        metrics = {k: float(v) for k, v in report.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        metrics["retrain_seconds"] = float(context.start_info.get("train_seconds", 0.0))
        upstream = metrics["retrain_seconds"] + metrics.get("cam_seconds", 0.0) + metrics.get("attribute_model_seconds", 0.0)
        return MethodResult(model, metrics, extra_seconds=upstream)
