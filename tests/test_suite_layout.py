"""The suite's own layout: the parallel schedule keeps the shared tiny grids to one worker."""

from pathlib import Path

from conftest import TINY_GRID_MODULES

TESTS = Path(__file__).parent


def test_every_module_reading_the_tiny_grids_is_scheduled_with_them():
    readers = {path.stem for path in TESTS.glob("test_*.py") if "tiny_grids" in path.read_text() and path.name != Path(__file__).name}
    assert readers == TINY_GRID_MODULES
