"""The package's shape: no import circle (function-local imports count), no module over 400
lines but the one whose docstring says why, scripts that import the package as it is."""

import ast

PACKAGE_LONG = {"calculators"}  # its docstring: one registry, one builder per type


def imports(path, modules):
    """The synthpt modules ``path`` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("synthpt"):
            parts = node.module.split(".")
            found |= {parts[1]} if len(parts) > 1 else {a.name for a in node.names} & modules
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("synthpt.")}
    return found - {path.stem}


def circle(graph):
    """One import circle of ``graph`` as a list of modules, or None."""
    state = {}

    def visit(module, trail):
        state[module] = "open"
        for other in sorted(graph[module]):
            if state.get(other) == "open":
                return trail[trail.index(other) :] + [other]
            if other not in state and (found := visit(other, [*trail, other])):
                return found
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state and (found := visit(module, [module])):
            return found
    return None


def test_no_module_imports_one_that_imports_it_back(root):
    package = root / "workflow" / "synthpt"
    modules = {p.stem for p in package.glob("*.py")}
    graph = {p.stem: imports(p, modules) & modules for p in package.glob("*.py")}
    assert circle(graph) is None, circle(graph)
    assert circle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]  # it sees one


def test_modules_stay_under_400_lines_unless_their_docstring_says_why(root):
    lengths = {
        p.stem: len(p.read_text().splitlines()) for p in (root / "workflow/synthpt").glob("*.py")
    }
    assert {name for name, n in lengths.items() if n > 400} <= PACKAGE_LONG, lengths


def test_scripts_import_the_package_without_path_edits(root):
    for script in (root / "workflow" / "scripts").glob("*.py"):
        text = script.read_text()
        assert "sys.path" not in text and "E402" not in text, script.name
        assert "start_job(sm.log[0], sm.threads)" in text, script.name  # its log and threads
