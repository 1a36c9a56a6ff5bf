"""The suite's own layout: the parallel schedule keeps the shared tiny grids to one worker."""

import re
from pathlib import Path

from helpers import TINY_GRID_MODULES

TESTS = Path(__file__).parent


def test_every_module_reading_the_tiny_grids_is_scheduled_with_them():
    readers = {path.stem for path in TESTS.glob("test_*.py") if "tiny_grids" in path.read_text() and path.name != Path(__file__).name}
    assert readers == TINY_GRID_MODULES


def test_modules_take_shared_helpers_from_helpers_not_from_conftest():
    pattern = re.compile(r"^\s*(from conftest import|import conftest)", re.MULTILINE)
    importing = [path.name for path in TESTS.glob("*.py") if pattern.search(path.read_text())]
    assert not importing, f"import these from tests/helpers.py instead: {importing}"
