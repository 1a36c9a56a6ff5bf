"""pytest's fixtures and hooks: a tiny grid on the embedded data that trains in seconds, one thread per test, and
the scheduler that keeps the tiny-grid modules on one worker. Shared values and helpers live in tests/helpers.py."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
from helpers import TINY_CONFIG, TINY_GRID_MODULES


@pytest.fixture
def tiny_config() -> dict:
    return copy.deepcopy(TINY_CONFIG)


@pytest.fixture(autouse=True)
def _few_threads():
    torch.set_num_threads(1)
    yield


def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    class SharedBuildScheduling(LoadScopeScheduling):
        """Whole modules as work units, the tiny-grid modules together as one."""

        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return "tiny_grids" if Path(module).stem in TINY_GRID_MODULES else module

    return SharedBuildScheduling(config, log)


@pytest.fixture(scope="session")
def tiny_grids(tmp_path_factory):
    """Grids `a` and `b` of tests/tiny_grids.py, run once for every test that reads them."""
    from tiny_grids import run_tiny_grids

    return run_tiny_grids(tmp_path_factory.mktemp("tiny_grids"))
