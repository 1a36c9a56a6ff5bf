"""How a training step runs on a GPU: bf16 autocast, channels_last, a fused optimiser, static batch shapes.

On a GPU a small model's step is bound by kernel launches and host work, not arithmetic: these cut the kernels'
count and size, and the training loops that take a FastSteps also keep the host from waiting on the GPU inside an
epoch (losses stay on the device and are checked once per epoch). On a CPU every option is off, so the CPU path,
and its same-seed results, stay as they were.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class FastSteps:
    bf16: bool = False  # forward and loss under bf16 autocast (the optimiser's weights stay float32)
    channels_last: bool = False  # convolutions in NHWC, the layout tensor cores read
    fused: bool = False  # AdamW as one fused kernel per step
    static_shapes: bool = False  # drop an epoch's last partial batch, so every step has one shape

    @classmethod
    def for_device(cls, device: torch.device) -> FastSteps:
        return cls(True, True, True, True) if device.type == "cuda" else cls()

    def autocast(self, device: torch.device):
        if not self.bf16:
            return contextlib.nullcontext()
        return torch.autocast(device.type, dtype=torch.bfloat16)

    def model(self, model: nn.Module) -> nn.Module:
        return model.to(memory_format=torch.channels_last) if self.channels_last else model

    def inputs(self, images: torch.Tensor) -> torch.Tensor:
        return images.contiguous(memory_format=torch.channels_last) if self.channels_last and images.dim() == 4 else images

    def adamw(self, parameters, **kwargs) -> torch.optim.AdamW:
        return torch.optim.AdamW(parameters, fused=True, **kwargs) if self.fused else torch.optim.AdamW(parameters, **kwargs)
