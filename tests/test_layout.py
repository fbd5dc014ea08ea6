"""The direction of imports inside analytics_app, read from the modules' own import statements.

README.md ("How the code is laid out") draws the arrows; these tests keep them true.
"""

import ast

import pytest

from analytics_app import ROOT

PACKAGE = ROOT / "analytics_app"


def module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_in(source, module, is_package=False):
    """Every module name ``source`` imports, relative imports resolved from ``module``
    (``from . import x`` counts both the package and ``package.x``)."""
    package = module if is_package else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join(parts + ([node.module] if node.module else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def modules():
    """Each module of the app with what it imports."""
    return {
        module_name(path): imports_in(
            path.read_text(), module_name(path), is_package=path.name == "__init__.py"
        )
        for path in sorted(PACKAGE.rglob("*.py"))
    }


def within(name, package):
    return name == package or name.startswith(package + ".")


def offenders(importer, imported, exempt=()):
    """Modules under ``importer`` (except ``exempt``) that import anything under ``imported``."""
    return sorted(
        f"{module} imports {name}"
        for module, names in modules().items()
        if within(module, importer) and module not in exempt
        for name in names
        if within(name, imported) and not within(module, imported)
    )


def test_the_reader_sees_relative_and_absolute_imports():
    found = modules()
    assert "analytics_app.accounts.users" in found["analytics_app.dashboard.admin"]
    assert "analytics_app.reports.stored" in found["analytics_app.cli"]
    assert "analytics_app.extensions" in found["analytics_app.accounts.tokens"]
    assert "sqlalchemy" in found["analytics_app.accounts.tokens"]


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        ("analytics_app.dashboard", "analytics_app.api"),
        ("analytics_app.api", "analytics_app.dashboard"),
        ("analytics_app.cli", "analytics_app.dashboard"),
        ("analytics_app.cli", "analytics_app.api"),
        ("analytics_app.accounts", "analytics_app.dashboard"),
        ("analytics_app.accounts", "analytics_app.api"),
        ("analytics_app.accounts", "analytics_app.cli"),
        ("analytics_app.reports", "analytics_app.rollup"),
    ],
)
def test_a_layer_does_not_import_another_it_must_not_know(importer, imported):
    assert offenders(importer, imported) == []


@pytest.mark.parametrize("edge", ["analytics_app.api", "analytics_app.dashboard"])
def test_only_the_app_factory_imports_the_http_edges(edge):
    assert offenders("analytics_app", edge, exempt={"analytics_app"}) == []


def test_relative_imports_resolve_to_the_module_they_name():
    source = "from ..api import reports\nfrom . import panels\nfrom .access import passive\n"
    found = imports_in(source, "analytics_app.dashboard.overview")
    assert {"analytics_app.api.reports", "analytics_app.dashboard.panels"} <= found
    assert "analytics_app.dashboard.access" in found
    assert "analytics_app.api" in imports_in("from .. import api", "analytics_app.cli.x")
    assert "analytics_app.tasks" in imports_in("from . import tasks", "analytics_app", True)
