"""Any torchvision classifier, randomly initialised, split into extractor and classifier.

The split uses torch.fx: trace the model, put every graph node up to the last one that runs inside the
chosen module into the extractor and the rest into the classifier. Exactly one activation (h) may
cross the boundary, which holds at stage boundaries (ResNet's `layer2`, a ViT encoder layer, a Swin
stage). Parameters the graph reads directly (a ViT's class token, Swin's attention weights) are not
activations: each part reads its own. h is handed on as a feature map [N, C, H, W] whatever the
family's own layout (see feature_layout.py).

torchvision is imported inside the functions that build or trace a model: importing it costs about 2 s
(its package imports every model family and torch._dynamo), which jobs that only use SplitModel,
a constant or the checkpoint format should not pay.
"""

from __future__ import annotations

import logging
import re

import torch
from torch import fx, nn

from attrunlearn_core.errors import ConfigError
from attrunlearn_core.feature_layout import CHANNELS_FIRST, AsFeatureMap, FromFeatureMap, layout_of

log = logging.getLogger(__name__)

DEFAULT_SPLIT_AFTER = "layer2"
DEFAULT_IMAGE_SIZE = 32
# A ViT's architecture as its builder fixes it; a model entry's kwargs may override these.
VIT_ARCHITECTURE = ("patch_size", "num_layers", "num_heads", "hidden_dim", "mlp_dim")
MIN_PATCH_GRID = 4
# A Swin's stages as its builder fixes them; a model entry's kwargs may override these.
SWIN_ARCHITECTURE = ("patch_size", "embed_dim", "depths", "num_heads", "window_size")


class SplitModel(nn.Module):
    """classifier(extractor(x)); `h` is the extractor's output, the representation attacked."""

    def __init__(self, extractor: nn.Module, classifier: nn.Module):
        super().__init__()
        self.extractor = extractor
        self.classifier = classifier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.extractor(x))


def list_models() -> list[str]:
    import torchvision

    return sorted(torchvision.models.list_models(module=torchvision.models))


def _vit_patch(image_size: int, patch: int) -> int:
    """The builder's patch if it tiles the image into at least a 4x4 grid, else the largest patch that does."""
    if image_size % patch == 0 and image_size // patch >= MIN_PATCH_GRID:
        return patch
    fits = [p for p in range(1, patch + 1) if image_size % p == 0 and image_size // p >= MIN_PATCH_GRID]
    return max(fits) if fits else 1


def _build_vit(arch: str, num_classes: int, image_size: int | None, kwargs: dict) -> nn.Module:
    """torchvision's ViT builders fix the patch and depth; construct the class with them overridden."""
    import torchvision
    from torchvision.models.vision_transformer import VisionTransformer

    with torch.device("meta"):  # reads the builder's architecture without allocating its weights
        reference = torchvision.models.get_model(arch, weights=None)
    fixed = {
        "patch_size": reference.patch_size,
        "num_layers": len(reference.encoder.layers),
        "num_heads": reference.encoder.layers[0].num_heads,
        "hidden_dim": reference.hidden_dim,
        "mlp_dim": reference.mlp_dim,
    }
    values = {**fixed, **kwargs, "num_classes": num_classes}
    values.setdefault("image_size", image_size or reference.image_size)
    if "patch_size" not in kwargs:
        values["patch_size"] = _vit_patch(values["image_size"], fixed["patch_size"])
        if values["patch_size"] != fixed["patch_size"]:
            log.info(
                "%s at %d px: patch %d instead of %d (a %dx%d grid)",
                arch,
                values["image_size"],
                values["patch_size"],
                fixed["patch_size"],
                values["image_size"] // values["patch_size"],
                values["image_size"] // values["patch_size"],
            )
    if values["image_size"] % values["patch_size"]:
        raise ConfigError(f"kwargs: {arch}: patch_size {values['patch_size']} does not divide image_size {values['image_size']}")
    return VisionTransformer(**values)


def _build_swin(arch: str, num_classes: int, kwargs: dict) -> nn.Module:
    """torchvision's Swin builders fix the stages; construct the class with them read off the builder's model and
    overridden by `kwargs` (e.g. a tiny Swin: patch_size, embed_dim, depths, num_heads, window_size)."""
    import torchvision
    from torchvision.models.swin_transformer import SwinTransformer

    with torch.device("meta"):
        reference = torchvision.models.get_model(arch, weights=None)
    stem, stages = reference.features[0][0], [reference.features[i] for i in range(1, len(reference.features), 2)]
    fixed = {
        "patch_size": list(stem.kernel_size),
        "embed_dim": stem.out_channels,
        "depths": [len(stage) for stage in stages],
        "num_heads": [stage[0].attn.num_heads for stage in stages],
        "window_size": list(stages[0][0].attn.window_size),
        "stochastic_depth_prob": stages[-1][-1].stochastic_depth.p,  # the last block's rate is the builder's setting
        "block": type(stages[0][0]),
        "downsample_layer": type(reference.features[2]),
    }
    return SwinTransformer(**{**fixed, **kwargs, "num_classes": num_classes})


def build_model(arch: str, num_classes: int, image_size: int | None = None, kwargs: dict | None = None) -> nn.Module:
    """A randomly initialised torchvision model; `kwargs` go to its builder (those it takes, e.g. `dropout`).
    A ViT is built for `image_size` (its patch shrunk where the image is small) and may override its patch and depth;
    a Swin may override its stages (SWIN_ARCHITECTURE)."""
    if arch not in list_models():
        raise ConfigError(f"unknown model {arch!r}; any torchvision classification model works, e.g. resnet18, resnet34, resnet50")
    import torchvision

    kwargs = dict(kwargs or {})
    try:
        if arch.startswith("vit_"):
            return _build_vit(arch, num_classes, image_size, kwargs)
        if arch.startswith("swin_") and set(kwargs) & set(SWIN_ARCHITECTURE):
            return _build_swin(arch, num_classes, kwargs)
        return torchvision.models.get_model(arch, weights=None, num_classes=num_classes, **kwargs)
    except TypeError as error:
        raise ConfigError(f"kwargs: {arch} does not take {sorted(kwargs)}: {error}") from None
    except (ValueError, AssertionError) as error:
        raise ConfigError(f"kwargs: {arch} cannot be built with {kwargs}: {error}") from None


def build_model_from_spec(spec: dict, num_classes: int, image_size: int | None = None) -> nn.Module:
    """A config model entry ({arch, kwargs, ...}) built for a dataset's task classes and image size."""
    return build_model(spec["arch"], num_classes, image_size, spec.get("kwargs"))


class _ModeKeepingTracer(fx.Tracer):
    """Keeps as single nodes the modules that pass `self.training` to a function (stochastic depth, Swin's
    attention dropout, DenseNet's dropout): traced through, the mode at trace time would be baked into the graph."""

    def __init__(self):
        super().__init__()
        from torchvision.models.densenet import _DenseLayer
        from torchvision.models.swin_transformer import ShiftedWindowAttention
        from torchvision.ops import DropBlock2d, StochasticDepth

        self.leaves = (StochasticDepth, DropBlock2d, ShiftedWindowAttention, _DenseLayer)

    def is_leaf_module(self, module: nn.Module, qualified_name: str) -> bool:
        return isinstance(module, self.leaves) or super().is_leaf_module(module, qualified_name)


def trace(model: nn.Module) -> fx.GraphModule:
    """The model's fx graph, refused when it still depends on the train/eval mode at trace time."""
    was_training = model.training
    graphs = []
    try:
        for mode in (True, False):
            model.train(mode)
            graphs.append(_ModeKeepingTracer().trace(model))
    finally:
        model.train(was_training)
    code = [re.sub(r"_tensor_constant\d+", "_tensor_constant", graph.python_code("self").src) for graph in graphs]  # numbered per trace
    if code[0] != code[1]:
        raise ConfigError(
            f"split_after: {type(model).__name__}'s forward branches on training/eval mode, which a traced split cannot keep"
            " (GoogLeNet, Inception: set kwargs: {aux_logits: false})"
        )
    return fx.GraphModule(model, graphs[1])


def _inside(node: fx.Node, module_name: str) -> bool:
    """Whether the node runs inside the module, functional ops (a residual add) included."""
    paths = [str(node.target)] if node.op == "call_module" else []
    paths += [path for path, _ in node.meta.get("nn_module_stack", {}).values()]
    return any(path == module_name or path.startswith(module_name + ".") for path in paths)


def _last_node_inside(model: nn.Module, nodes: list[fx.Node], module_name: str) -> int:
    inside = [i for i, node in enumerate(nodes) if _inside(node, module_name)]
    if not inside:
        names = ", ".join(name for name, _ in model.named_children())
        raise ConfigError(f"split_after: model has no module {module_name!r}; top-level modules are: {names}")
    return max(inside)


def _subgraph(root: nn.Module, nodes: list[fx.Node], inputs: dict[fx.Node, str], output: fx.Node | None) -> fx.GraphModule:
    """A GraphModule of `nodes` (in order), fed by `inputs` as placeholders; it shares root's parameters."""
    graph = fx.Graph()
    env = {node: graph.placeholder(name) for node, name in inputs.items()}
    for node in nodes:
        env[node] = graph.node_copy(node, lambda n: env[n])
    if output is not None:
        graph.output(env[output])
    return fx.GraphModule(root, graph)


def split_model(model: nn.Module, split_after: str = DEFAULT_SPLIT_AFTER, image_size: int = DEFAULT_IMAGE_SIZE) -> SplitModel:
    """Split after the named module. `image_size` is only used to see h's layout (a ViT uses its own)."""
    nodes = list(trace(model).graph.nodes)
    last = _last_node_inside(model, nodes, split_after)
    first = {node for node in nodes[: last + 1] if node.op != "get_attr"}
    crossing = [node for node in nodes[: last + 1] if node in first and any(user not in first and user.op != "get_attr" for user in node.users)]
    if len(crossing) != 1:
        raise ConfigError(f"split_after: {split_after!r} is not a single-tensor boundary ({len(crossing)} activations cross it)")
    h = crossing[0]
    reads = lambda node, part: node.op == "get_attr" and any(user in part for user in node.users)  # noqa: E731
    first_nodes = [n for n in nodes[: last + 1] if n.op != "placeholder" and (n in first or reads(n, first))]
    placeholders = {n: n.name for n in nodes if n.op == "placeholder"}
    extractor = _subgraph(model, first_nodes, placeholders, h)
    second = set(nodes[last + 1 :])
    second_nodes = [n for n in nodes if n in second or reads(n, second)]
    classifier = _subgraph(model, second_nodes, {h: "h"}, None)
    layout = _h_layout(model, extractor, nodes[last + 1 :], getattr(model, "image_size", image_size))
    if layout != CHANNELS_FIRST:
        extractor, classifier = nn.Sequential(extractor, AsFeatureMap(layout)), nn.Sequential(FromFeatureMap(layout), classifier)
    return SplitModel(extractor, classifier)


@torch.no_grad()
def _h_layout(model: nn.Module, extractor: nn.Module, later_nodes: list[fx.Node], image_size: int) -> str:
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        ndim = extractor(torch.zeros(2, 3, image_size, image_size, device=device)).dim()
    finally:
        model.train(was_training)
    return layout_of(ndim, later_nodes)


def module_output_layout(model: nn.Module, module_name: str, image_size: int) -> str:
    """The layout of a named module's output in the unsplit model (for Grad-CAM's reshape)."""
    nodes = list(trace(model).graph.nodes)
    last = _last_node_inside(model, nodes, module_name)
    outputs = []
    handle = dict(model.named_modules())[module_name].register_forward_hook(lambda _m, _i, output: outputs.append(output))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            device = next(model.parameters()).device
            model(torch.zeros(2, 3, image_size, image_size, device=device))
    finally:
        handle.remove()
        model.train(was_training)
    return layout_of(outputs[0].dim(), nodes[last + 1 :])


def build_split_model(
    arch: str, num_classes: int, split_after: str = DEFAULT_SPLIT_AFTER, image_size: int | None = None, kwargs: dict | None = None
) -> SplitModel:
    return split_model(build_model(arch, num_classes, image_size, kwargs), split_after, image_size or DEFAULT_IMAGE_SIZE)


def final_linear(classifier: nn.Module) -> nn.Linear:
    """The classifier's last Linear layer; its input is the penultimate representation."""
    linears = [m for m in classifier.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ConfigError("model has no final Linear layer to read penultimate features from")
    return linears[-1]
