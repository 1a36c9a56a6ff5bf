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


# Scripts that serve more than one rule: the rule -> the script it shares.
SHARED_SCRIPTS = {"train_masked_baseline": "train_baseline", "report_tables": "html_table", "efficiency_table_html": "html_table"}


def test_each_rule_runs_the_script_of_its_own_name():
    rules = TESTS.parent / "rules"
    pairs = []
    for path in rules.glob("*.smk"):
        for rule, body in re.findall(r"^\s*rule (\w+):\n(.*?)(?=^\s*rule \w+:|\Z)", path.read_text(), re.MULTILINE | re.DOTALL):
            script = re.search(r"workflow_scripts/(\w+)\.py", body)
            if script:
                pairs.append((rule, script.group(1)))
    assert len(pairs) >= 20
    assert [(rule, script) for rule, script in pairs if script != SHARED_SCRIPTS.get(rule, rule)] == []
