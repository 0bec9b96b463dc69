"""The repository agrees with the package table of tools/layers.py."""

from __future__ import annotations

import re
import tomllib

import pytest
from layers import BY_DIR, PACKAGES, ROOT, closure

ROOT_CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.dir)
def test_package_directory_layout(package: object) -> None:
    path = BY_DIR[package.dir].path  # type: ignore[attr-defined]
    for part in ("pyproject.toml", "README.md", "src/squall", "tests"):
        assert (path / part).exists(), f"{path}/{part} is missing"


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.dir)
def test_pyproject_metadata(package: object) -> None:
    pkg = BY_DIR[package.dir]  # type: ignore[attr-defined]
    data = tomllib.loads((pkg.path / "pyproject.toml").read_text(encoding="utf-8"))
    assert data["build-system"]["build-backend"] == "hatchling.build"
    assert data["project"]["name"] == pkg.dist
    assert data["project"]["requires-python"] == ">=3.11"
    declared = {re.split(r"[<>=!~ \[]", d, maxsplit=1)[0] for d in data["project"]["dependencies"]}
    expected = {BY_DIR[d].dist for d in pkg.depends} | set(pkg.requires)
    assert declared == expected


def test_only_the_meta_package_has_an_init() -> None:
    inits = sorted(str(p) for p in ROOT.glob("packages/*/src/squall/__init__.py"))
    assert inits == [str(BY_DIR["squall"].path / "src" / "squall" / "__init__.py")]


def test_closure_follows_dependencies() -> None:
    assert [p.dir for p in closure("core")] == ["core"]
    assert [p.dir for p in closure("template")] == ["core", "template"]
    assert [p.dir for p in closure("web")] == [
        "core", "template", "ioloop", "iostream", "httpcore", "web",
    ]  # fmt: skip
    assert {p.dir for p in closure("squall")} == set(BY_DIR)


def test_meta_package_maps_every_module() -> None:
    import ast

    source = (BY_DIR["squall"].path / "src" / "squall" / "__init__.py").read_text()
    tree = ast.parse(source)
    tables: dict[str, dict[str, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            tables[node.target.id] = ast.literal_eval(node.value)  # type: ignore[arg-type]
    expected: dict[str, str] = {}
    expected_platform: dict[str, str] = {}
    for package in PACKAGES:
        for module in package.modules:
            if module.startswith("platform."):
                expected_platform[module.split(".", 1)[1]] = package.dist
                expected.setdefault("platform", package.dist)
            else:
                expected[module] = package.dist
    assert tables["_SUBMODULES"] == expected
    assert tables["_PLATFORM_SUBMODULES"] == expected_platform


def _contract(contract_id: str) -> dict[str, object]:
    for contract in ROOT_CONFIG["tool"]["importlinter"]["contracts"]:
        if contract["id"] == contract_id:
            return contract  # type: ignore[no-any-return]
    raise AssertionError(f"no import-linter contract {contract_id!r}")


def _layer_modules(layers: list[str]) -> list[list[str]]:
    return [re.findall(r"squall\.[\w.]+", layer) for layer in layers]


def test_network_contract_lists_every_network_module_in_layer_order() -> None:
    layers = _layer_modules(_contract("network-stack")["layers"])  # type: ignore[arg-type]
    listed = [m for layer in layers for m in layer]
    network = [p for p in PACKAGES if p.dir not in ("template", "squall")]
    expected = {f"squall.{m}" for p in network for m in p.modules}
    assert set(listed) == expected
    assert len(listed) == len(expected)
    # Each package's modules sit below (later than) the modules of its dependents.
    position = {m: i for i, layer in enumerate(layers) for m in layer}
    for package in network:
        for dep in package.depends:
            if dep == "template":
                continue
            lowest_own = max(position[f"squall.{m}"] for m in package.modules)
            highest_dep = min(position[f"squall.{m}"] for m in BY_DIR[dep].modules)
            assert lowest_own < highest_dep, f"{package.dir} must sit above {dep}"


def test_template_contract_puts_the_whole_network_stack_above_it() -> None:
    layers = _layer_modules(_contract("template-standalone")["layers"])  # type: ignore[arg-type]
    assert layers[-1] == ["squall.template"]
    above = set(layers[0])
    network = {
        f"squall.{module}"
        for package in PACKAGES
        if package.dir not in ("core", "template", "squall")
        for module in package.modules
    }
    assert above == network
    forbidden = set(_contract("template-no-io")["forbidden_modules"])  # type: ignore[arg-type]
    assert {"asyncio", "socket", "ssl"} <= forbidden


def test_mypy_checks_every_package_with_code() -> None:
    from layers import has_code

    files = ROOT_CONFIG["tool"]["mypy"]["files"]
    expected = {f"packages/{p.dir}/src/squall" for p in PACKAGES if has_code(p)}
    assert {f for f in files if f.startswith("packages/") and "/src/" in f} == expected
    # Build hooks at a package's top level are checked too.
    hooks = {str(path.relative_to(ROOT)) for path in ROOT.glob("packages/*/*.py")}
    assert {f for f in files if f.startswith("packages/") and "/src/" not in f} == hooks


def test_optional_modules_name_declared_extras() -> None:
    for package in PACKAGES:
        if not package.optional:
            continue
        data = tomllib.loads((package.path / "pyproject.toml").read_text(encoding="utf-8"))
        extras = set(data["project"].get("optional-dependencies", {}))
        for module, extra in package.optional:
            assert module in package.modules
            assert extra in extras, f"{package.dist} lacks the extra {extra!r}"
