"""The one registry behind methods, attackers and dataset loaders: registration, lookup, discovery."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest

from attrunlearn_core.errors import ConfigError
from attrunlearn_core.registry import Registry

REPO = Path(__file__).resolve().parents[1]
_package_numbers = itertools.count()


@pytest.fixture
def make_package(tmp_path, monkeypatch):
    """Write a throwaway package {module: source} whose __init__ holds `REGISTRY`; returns its name."""
    monkeypatch.syspath_prepend(str(tmp_path))
    created = []

    def make(modules: dict[str, str]) -> str:
        name = f"registry_test_package_{next(_package_numbers)}"
        folder = tmp_path / name
        folder.mkdir()
        (folder / "__init__.py").write_text(f"from attrunlearn_core.registry import Registry\nREGISTRY = Registry('widget', {name!r})\n")
        for module, source in modules.items():
            (folder / f"{module}.py").write_text(source.replace("{p}", name))  # {p}: the package itself
        created.append(name)
        return name

    yield make
    for module in [m for m in sys.modules if m.split(".")[0] in created]:
        del sys.modules[module]


def _registry(package: str) -> Registry:
    __import__(package)
    return sys.modules[package].REGISTRY


def test_register_by_class_name_and_by_explicit_name(make_package):
    registry = _registry(make_package({}))

    @registry.register
    class Gear:
        name = "gear"

    @registry.register("spring")
    def make_spring():
        return "spring"

    assert registry.names() == ["gear", "spring"]
    assert registry.get("gear") is Gear and registry.get("spring") is make_spring
    assert "gear" in registry and "cog" not in registry


def test_a_class_without_a_name_cannot_register_by_it():
    registry = Registry("widget", "no_such_package_needed")
    with pytest.raises(ValueError, match="no name"):

        @registry.register
        class Nameless:
            name = ""


def test_registering_a_name_twice_is_an_error():
    registry = Registry("widget", "no_such_package_needed")
    registry.register("gear")(lambda: 1)
    with pytest.raises(ValueError, match="widget 'gear' is registered twice"):
        registry.register("gear")(lambda: 2)


def test_unknown_name_lists_the_known_ones(make_package):
    package = make_package(
        {
            "gear": "from {p} import REGISTRY\n@REGISTRY.register('gear')\ndef gear(): pass\n",
            "cog": "from {p} import REGISTRY\n@REGISTRY.register('cog')\ndef cog(): pass\n",
        }
    )
    with pytest.raises(ConfigError, match=r"^unknown widget 'sprocket'; known: cog, gear$"):
        _registry(package).get("sprocket")


def test_discovery_imports_every_public_module_on_first_lookup(make_package):
    package = make_package(
        {
            "gear": "from {p} import REGISTRY\n@REGISTRY.register('gear')\ndef gear(): pass\n",
            "helper": "SHARED = 1  # a helper module registers nothing and is harmless to import\n",
            "_private": "raise RuntimeError('a private module is never imported by discovery')\n",
        }
    )
    registry = _registry(package)
    assert f"{package}.gear" not in sys.modules  # lazy: nothing imported before the first lookup
    assert registry.names() == ["gear"]
    assert f"{package}.helper" in sys.modules and f"{package}._private" not in sys.modules


def test_looking_up_one_name_imports_only_its_module(make_package):
    package = make_package(
        {
            "gear": "from {p} import REGISTRY\n@REGISTRY.register('gear')\ndef gear(): pass\n",
            "spring_module": "from {p} import REGISTRY\n@REGISTRY.register('spring')\ndef spring(): pass\n",
            "heavy": "raise RuntimeError('a lookup of another name never imports this module')\n",
        }
    )
    registry = _registry(package)
    registry.modules = {"spring": "spring_module"}  # a name that differs from its module's
    assert registry.get("gear").__name__ == "gear" and "spring" in registry
    assert f"{package}.heavy" not in sys.modules
    with pytest.raises(RuntimeError, match="never imports"):  # an unknown name still discovers every module
        registry.get("sprocket")


def test_discovery_finds_a_module_added_to_the_package(make_package, tmp_path):
    package = make_package({})
    (tmp_path / package / "brand_new.py").write_text(
        f"from {package} import REGISTRY\n\n@REGISTRY.register\nclass BrandNew:\n    name = 'brand_new'\n"
    )
    assert _registry(package).get("brand_new").__name__ == "BrandNew"


def test_a_missing_optional_package_is_reported_and_breaks_nothing_else(make_package):
    package = make_package(
        {
            "gear": "from {p} import REGISTRY\n@REGISTRY.register('gear')\ndef gear(): pass\n",
            "fancy": "import surely_not_an_installed_package_xyz\n",
            "renamed": "from surely_not_an_installed_package_abc import thing\n",
        }
    )
    registry = _registry(package)
    assert registry.names() == ["gear"]
    with pytest.raises(ConfigError, match=r"^widget 'fancy' needs the package 'surely_not_an_installed_package_xyz', which is not installed$"):
        registry.get("fancy")
    # A module that would have registered under another name: the unknown-name error still says what was skipped.
    with pytest.raises(ConfigError, match=r"unknown widget 'other'; known: gear; .*renamed \(needs 'surely_not_an_installed_package_abc'\)"):
        registry.get("other")


def test_a_missing_module_of_our_own_is_a_bug_and_raised(make_package):
    package = make_package({"broken": "import {p}.does_not_exist\n"})
    registry = _registry(package)
    with pytest.raises(ModuleNotFoundError):
        registry.names()
    with pytest.raises(ModuleNotFoundError):  # raised again on the next lookup, never hidden
        registry.names()


# ---------------------------------------------------------------- the three packages use it


def test_methods_attackers_and_dataset_loaders_all_go_through_the_registry():
    from attrunlearn_core import attackers, datasets, methods

    expected = {
        methods.METHODS: (
            "method",
            {"original", "adversarial", "detachment", "finetune", "gradcam_retrain", "hsic", "instance_unlearning", "leace", "qleace"},
        ),
        attackers.ATTACKERS: ("attacker", {"logreg", "knn", "linear", "mlp", "conv", "resnet"}),
        datasets.DATASET_LOADERS: ("dataset loader", {"embedded", "cifar10", "utkface", "celeba", "fairface"}),
    }
    for registry, (kind, names) in expected.items():
        assert isinstance(registry, Registry) and registry.kind == kind
        assert set(registry.names()) == names
    assert methods.list_methods() == methods.METHODS.names()
    assert methods.get_method_class("leace") is methods.METHODS.get("leace")
    assert attackers.list_attackers() == attackers.ATTACKERS.names()
    assert datasets.list_datasets() == datasets.DATASET_LOADERS.names()
    assert datasets.get_dataset_loader("cifar10") is sys.modules["attrunlearn_core.datasets.cifar10"].load_cifar10
    for get, kind in (
        (methods.get_method_class, "method"),
        (attackers.get_attacker_class, "attacker"),
        (datasets.get_dataset_loader, "dataset loader"),
    ):
        with pytest.raises(ConfigError, match=f"^unknown {kind} 'nope'; known: "):
            get("nope")


def test_a_method_whose_package_is_missing_is_reported_and_the_others_still_load(tmp_path):
    """The real methods package without concept-erasure (as on a machine that lacks it): leace and qleace
    say what to install, every other method still works."""
    (tmp_path / "sitecustomize.py").write_text(
        "import importlib.abc, sys\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'concept_erasure':\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Block())\n"
    )
    script = (
        "from attrunlearn_core.errors import ConfigError\n"
        "from attrunlearn_core.methods import get_method_class, list_methods\n"
        "print(','.join(list_methods()))\n"
        "try:\n"
        "    get_method_class('leace')\n"
        "except ConfigError as error:\n"
        "    print(error)\n"
    )
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", script],
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    listed, message = done.stdout.splitlines()
    assert listed == "adversarial,detachment,finetune,gradcam_retrain,hsic,instance_unlearning,original"
    assert message == "method 'leace' needs the package 'concept_erasure', which is not installed"
