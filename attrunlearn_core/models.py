"""Any torchvision classifier, randomly initialised, split into extractor and classifier.

The split uses torch.fx: trace the model, put every graph node up to the last one that runs
inside the chosen module into the extractor and the rest into the classifier. Exactly one tensor (h)
must cross the boundary, which holds at stage boundaries such as ResNet's `layer2`.
"""
from __future__ import annotations

import warnings

import torch
import torchvision
from torch import nn
from torch.fx import symbolic_trace
from torch.fx.passes.split_module import split_module

from attrunlearn_core.errors import ConfigError

DEFAULT_SPLIT_AFTER = "layer2"


class SplitModel(nn.Module):
    """classifier(extractor(x)); `h` is the extractor's output, the representation attacked."""

    def __init__(self, extractor: nn.Module, classifier: nn.Module):
        super().__init__()
        self.extractor = extractor
        self.classifier = classifier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.extractor(x))


def list_models() -> list[str]:
    return sorted(torchvision.models.list_models(module=torchvision.models))


def build_model(arch: str, num_classes: int) -> nn.Module:
    if arch not in list_models():
        raise ConfigError(f"unknown model {arch!r}; any torchvision classification model works, e.g. resnet18, resnet34, resnet50")
    return torchvision.models.get_model(arch, weights=None, num_classes=num_classes)


def _inside(node: torch.fx.Node, module_name: str) -> bool:
    """Whether the node runs inside the module, functional ops (a residual add) included."""
    paths = [str(node.target)] if node.op == "call_module" else []
    paths += [path for path, _ in node.meta.get("nn_module_stack", {}).values()]
    return any(path == module_name or path.startswith(module_name + ".") for path in paths)


def split_model(model: nn.Module, split_after: str = DEFAULT_SPLIT_AFTER) -> SplitModel:
    graph_module = symbolic_trace(model)
    nodes = list(graph_module.graph.nodes)
    boundary = [i for i, node in enumerate(nodes) if _inside(node, split_after)]
    if not boundary:
        names = ", ".join(name for name, _ in model.named_children())
        raise ConfigError(f"split_after: model has no module {split_after!r}; top-level modules are: {names}")
    last = max(boundary)
    part = {node.name: 0 if i <= last else 1 for i, node in enumerate(nodes)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        parts = split_module(graph_module, model, lambda node: part[node.name])
    crossing = [n for n in parts.submod_1.graph.nodes if n.op == "placeholder"]
    if len(crossing) != 1:
        raise ConfigError(f"split_after: {split_after!r} is not a single-tensor boundary ({len(crossing)} tensors cross it)")
    return SplitModel(parts.submod_0, parts.submod_1)


def build_split_model(arch: str, num_classes: int, split_after: str = DEFAULT_SPLIT_AFTER) -> SplitModel:
    return split_model(build_model(arch, num_classes), split_after)


def final_linear(classifier: nn.Module) -> nn.Linear:
    """The classifier's last Linear layer; its input is the penultimate representation."""
    linears = [m for m in classifier.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ConfigError("model has no final Linear layer to read penultimate features from")
    return linears[-1]
