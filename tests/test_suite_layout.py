"""The suite's own layout: the parallel schedule keeps the shared tiny grids to one worker."""

import re
from pathlib import Path

from helpers import TINY_GRID_MODULES, lint_workflow

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


def test_the_workflow_linter_lets_through_only_the_missing_conda_environment():
    lint = lint_workflow()
    output = (
        "Lints for rule prepare (line 1, rules/prepare.smk):\n"
        "    * Specify a conda environment or container for each rule.:\n"
        "      This way, the used software for each specific step is documented, and the\n"
        "Lints for rule unlearn (line 3, rules/unlearn.smk):\n"
        "    * No log directive defined:\n"
        "      Without a log directive, all output will be printed to the terminal.\n"
    )
    assert lint.unexpected_lints(output) == ["Lints for rule unlearn (line 3, rules/unlearn.smk): No log directive defined"]
    assert lint.unexpected_lints(output.split("Lints for rule unlearn")[0]) == []


def test_no_rule_names_a_conda_environment_the_suite_does_not_ship():
    assert not (TESTS.parent / "environment.yaml").exists()
    assert [path.name for path in (TESTS.parent / "rules").glob("*.smk") if "conda:" in path.read_text()] == []
