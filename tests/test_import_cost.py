"""Which heavy packages each workflow job imports before it does any work.

Every Snakemake job is a fresh Python process, so whatever its step module imports is paid per job: torchvision
alone costs about 2 s. Each module is imported in a process of its own and the heavy packages it left in
sys.modules are compared with the table below. No timings: they depend on the machine, the set does not.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "torchvision", "matplotlib", "pandas", "mlflow", "sklearn", "scipy", "pytorch_grad_cam", "concept_erasure")

# What a job may import: the module (or statement) -> the heavy packages expected after it ran, exactly.
EXPECTED = {
    # jobs that only read JSON / Parquet / MLflow never load torch
    "import attrunlearn_core.jobs.evaluate": set(),
    "import attrunlearn_core.jobs.aggregate": {"mlflow", "pandas", "scipy"},
    "import attrunlearn_core.tracking": {"mlflow", "pandas", "scipy"},
    "import attrunlearn_core.tracking_efficiency": {"mlflow", "pandas", "scipy"},
    "import attrunlearn_core.figures.draw": {"matplotlib", "pandas"},
    "import attrunlearn_core.figures.sweep_heatmap": {"matplotlib", "pandas"},
    "import attrunlearn_core.figures.html_table": {"pandas"},
    "import attrunlearn_core.efficiency.table": set(),  # the efficiency table job; torch only when measuring
    "import attrunlearn_core.efficiency.settings": set(),  # read when the DAG is built
    # jobs that use tensors import torch; torchvision only once they build or load a model
    "import attrunlearn_core.jobs.prepare": {"torch"},
    "import attrunlearn_core.jobs.unlearn": {"torch"},
    "import attrunlearn_core.jobs.fit_attackers": {"torch"},
    "import attrunlearn_core.jobs.train_baseline": {"torch"},
    "import attrunlearn_core.jobs.train_attribute_model": {"torch"},
    "import attrunlearn_core.jobs.import_baseline": {"torch"},
    "import attrunlearn_core.jobs.mask_dataset": {"torch"},
    "import attrunlearn_core.jobs.gradcam_figure": {"torch"},
    "import attrunlearn_core.jobs.image_recovery": {"torch"},
    # the glue every script imports
    "import attrunlearn_core.config, attrunlearn_core.divergence, attrunlearn_core.runlog": set(),
    # a registry lookup imports the module of that name only, not every method's or attacker's packages
    "from attrunlearn_core.methods import get_method_class as m; from attrunlearn_core.attackers import get_attacker_class as a;"
    " m('detachment'); a('linear')": {"torch"},
}


@pytest.mark.parametrize("statement", EXPECTED)
def test_heavy_packages_imported(statement):
    code = f"import sys; {statement}; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) == EXPECTED[statement]
