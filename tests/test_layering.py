"""The layering of the package (pyproject.toml, [tool.importlinter]) holds."""

from pathlib import Path

from importlinter.cli import lint_imports

REPO = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept(capsys):
    code = lint_imports(config_filename=str(REPO / "pyproject.toml"), no_cache=True,
                        no_logo=True)
    report = capsys.readouterr().out
    assert code == 0, report
    assert "0 broken" in report


def test_no_module_imports_itself_through_a_circle():
    import grimp

    graph = grimp.build_graph("biovw", include_external_packages=False)
    circles = sorted((module, imported) for module in graph.modules
                     for imported in graph.find_modules_directly_imported_by(module)
                     if graph.chain_exists(importer=imported, imported=module))
    assert len(graph.modules) > 100 and circles == []
