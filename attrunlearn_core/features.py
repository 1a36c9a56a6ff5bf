"""Frozen representations for the attackers: h at the split and the classifier's penultimate features."""

from __future__ import annotations

import torch

from attrunlearn_core.models import SplitModel, final_linear
from attrunlearn_core.training import to_input


@torch.no_grad()
def extract_features(model: SplitModel, images: torch.Tensor, device: torch.device, batch_size: int = 256) -> dict[str, torch.Tensor]:
    """Returns {"split": h [N, C, H, W], "penultimate": [N, D], "logits": [N, K]} on the CPU."""
    model.to(device).eval()
    captured: list[torch.Tensor] = []
    hook = final_linear(model.classifier).register_forward_hook(lambda _m, inputs, _o: captured.append(inputs[0].detach().cpu()))
    split, logits = [], []
    try:
        for start in range(0, len(images), batch_size):
            h = model.extractor(to_input(images[start : start + batch_size], device))
            split.append(h.cpu())
            logits.append(model.classifier(h).cpu())
    finally:
        hook.remove()
    return {"split": torch.cat(split), "penultimate": torch.cat(captured).flatten(1), "logits": torch.cat(logits)}
