"""Baseline-1: the original model, unchanged. The upper bound on fidelity and on leakage."""

from __future__ import annotations

from attrunlearn_core.methods import register_method
from attrunlearn_core.methods.base import MethodResult, UnlearningContext, UnlearningMethod
from attrunlearn_core.models import SplitModel


@register_method
class Original(UnlearningMethod):
    name = "original"

    def unlearn(self, model: SplitModel, context: UnlearningContext) -> MethodResult:
        return MethodResult(model)
