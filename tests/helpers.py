"""What the test modules share: the repository's paths, the tiny grid's config and data, writing a config.

Test modules import these from here; tests/conftest.py holds only pytest's fixtures and hooks.
"""

from __future__ import annotations

import copy
import hashlib
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

TINY_CONFIG = {
    "seed": 0,
    "device": "cpu",
    "datasets": {
        "embedded": {
            "loader": "embedded",
            "image_size": 16,
            "task": "shape",
            "attributes": ["color", ["color", "background"]],
            "splits": {"train": 96, "test": 48, "attacker_train": 64, "attacker_test": 48},
        }
    },
    "models": {"resnet18": {"arch": "resnet18", "split_after": "layer2"}},
    "training": {"epochs": 1, "batch_size": 32, "lr": 0.001},
    "attackers": {
        # resnet (the paper's attacker) is left out: a ResNet18 per site and pool costs ~10 s a cell on 2 cores;
        # tests/test_attackers.py trains it like every registered attacker.
        "names": ["linear", "mlp", "conv", "logreg", "knn"],
        "sites": ["split", "penultimate"],
        "recipe": {"max_epochs": 2, "batch_size": 32, "hidden": 32, "patience": 2, "cv_folds": 2},
    },
    "methods": {"original": {"method": "original"}},
    "grid": {"datasets": ["embedded"], "models": ["resnet18"], "methods": ["original"], "seeds": [0]},
}


def write_config(config: dict, path: Path) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@lru_cache(maxsize=4)
def tiny_embedded_prepared(seed: int = 0):
    """A 256-image, 16x16 prepared embedded dataset for method tests (cached per seed)."""
    from attrunlearn_core.datasets.embedded import load_embedded
    from attrunlearn_core.datasets.prepared import prepare

    rng = np.random.default_rng(seed)
    data = load_embedded(None, 16, 256, rng, {})
    sizes = {"train": 96, "test": 48, "attacker_train": 64, "attacker_test": 48}
    return prepare(data, sizes, ["shape", "color", "background"], rng, meta={"dataset": "embedded"})


# The test modules that read the `tiny_grids` session fixture. Under pytest-xdist (pyproject's addopts) they run on
# one worker, so the grids are built once; every other module runs whole on one worker (its module-scoped fixtures
# are built once too). test_suite_layout.py checks that this list is complete.
TINY_GRID_MODULES = frozenset({"test_baseline2_workflow", "test_end_to_end", "test_grid_results", "test_peer_methods_workflow"})


# ---------------------------------------------------------------- the fault battery's checks (tests/test_faults_*.py)


def one_line(message: str, *fragments: str) -> str:
    """The message is exactly one line and names every fragment; printed for the battery's record."""
    lines = message.strip().splitlines()
    assert len(lines) == 1, message
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    print(f"\n[battery] {lines[0]}")
    return lines[0]


def nothing_half_written(folder: Path) -> None:
    assert not [p for p in folder.rglob("*") if p.name.endswith(".tmp") or p.name.endswith(".inprogress")], list(folder.rglob("*"))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fault_grid() -> dict:
    """The tiny grid the workflow faults run: two epochs, one attribute."""
    grid = {**copy.deepcopy(TINY_CONFIG), "training": {"epochs": 2, "batch_size": 32, "lr": 0.001}}
    grid["datasets"]["embedded"]["attributes"] = ["color"]
    return grid


def lint_workflow():
    """scripts/lint_workflow.py as a module (scripts/ is no package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("lint_workflow", REPO / "scripts" / "lint_workflow.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
