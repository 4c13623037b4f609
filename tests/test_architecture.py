"""The import map of ARCHITECTURE.md, enforced: no circles, no private names across modules,
and imports only in the allowed directions between layers.

Every module of ``vaednn/`` is parsed with :mod:`ast` (nothing is imported), and every
``import`` counts, at module level or inside a function: a function-level import still ties
the two modules together.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "vaednn"

#: Layer of every module, lowest first; a module imports its own layer and those below only.
#: The names and what each layer owns are ARCHITECTURE.md's.
LAYERS = {
    "foundation": ("vaednn", "vaednn.files", "vaednn.extras", "vaednn.expressions"),
    "data": ("vaednn.data", "vaednn.reweight", "vaednn.simulate", "vaednn.training_sets"),
    "numbers": ("vaednn.stats",),
    "models": ("vaednn.models",),
    "plots": ("vaednn.plots", "vaednn.plotting", "vaednn.curves"),
    "scores": ("vaednn.compare", "vaednn.comparison", "vaednn.anomaly", "vaednn.baselines",
               "vaednn.detector", "vaednn.explain", "vaednn.scores"),
    "studies": ("vaednn.scan", "vaednn.publish"),
    "glue": ("vaednn.workflow", "vaednn.reproduce", "vaednn.cli", "vaednn.__main__"),
}
#: Layers at the same height that must not import each other.
RANK = {"foundation": 0, "data": 1, "numbers": 1, "models": 2, "plots": 3, "scores": 4,
        "studies": 5, "glue": 6}

#: Third-party packages the pure layers never import: they draw nothing.
NEVER = {layer: ("matplotlib",) for layer in ("foundation", "data", "numbers")}
#: Third-party packages the pure layers import only inside the function that needs them
#: (``data.stream`` builds a ``tf.data.Dataset``, ``files.load_model`` calls Keras), so that
#: importing them loads no deep-learning backend.
DEFERRED = {layer: ("keras", "tensorflow", "jax") for layer in ("foundation", "data", "numbers")}

#: Modules only the listed modules of the package may import: the notebooks' glue is for
#: notebooks, the command line for ``python -m vaednn``.
ENTRY_POINTS = {"vaednn.workflow": (), "vaednn.cli": ("vaednn.__main__",),
                "vaednn.__main__": ()}


#: The most lines a module of a layer package may have (issue 22: "no module over about 600").
MAX_MODULE_LINES = 600


def statement_kinds(path: Path, sources) -> list[str]:
    """What each top-level statement of ``path`` is: ``"docstring"``, ``"import"`` (a
    ``from`` import of a module starting with one of ``sources``), ``"__all__"``, or its
    code (60 characters); the package tests assert a re-export module holds nothing else."""
    kinds = []
    for node in ast.parse(Path(path).read_text()).body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            kinds.append("docstring")
        elif isinstance(node, ast.ImportFrom) and node.module.startswith(tuple(sources)):
            kinds.append("import")
        elif isinstance(node, ast.Assign) and [t.id for t in node.targets] == ["__all__"]:
            kinds.append("__all__")
        else:
            kinds.append(ast.unparse(node)[:60])
    return kinds


def package_modules(package: str) -> list[str]:
    """The modules of ``vaednn/<package>/``, sorted, without ``__init__``."""
    return sorted(p.stem for p in (PACKAGE / package).glob("*.py") if p.stem != "__init__")


def package_homes(package: str) -> list:
    """The imported modules of ``vaednn/<package>/`` that define its names (``__main__``,
    a script, defines none)."""
    import importlib

    return [importlib.import_module(f"vaednn.{package}.{name}")
            for name in package_modules(package) if name != "__main__"]


def order_violations(package: str, order, forbidden=()) -> list[str]:
    """Imports inside ``vaednn.<package>`` against its ``order``: each module imports only
    those before it, never the package itself nor a module of ``forbidden`` (its re-exports)."""
    prefix, bad = f"vaednn.{package}", []
    graph = import_graph()
    for rank, name in enumerate(order):
        for target in sorted(graph[f"{prefix}.{name}"].edges):
            if target == prefix or target in forbidden or (
                    target.startswith(prefix + ".") and
                    order.index(target.rpartition(".")[2]) >= rank):
                bad.append(f"{prefix}.{name} imports {target}")
    return bad


def defining_module(name: str, homes):
    """The one module of ``homes`` whose ``__all__`` holds ``name`` (an AssertionError names
    every module that does when it is not exactly one)."""
    defined = [home for home in homes if name in home.__all__]
    assert len(defined) == 1, (name, [home.__name__ for home in defined])
    return defined[0]


def public_names() -> dict[str, list[str]]:
    """The public names each old module held before the layout redesign, in their order
    (``tests/public_names.toml``): the package tests pin them."""
    import tomllib

    return tomllib.loads(Path(__file__).with_name("public_names.toml").read_text())


def modules(package: Path = PACKAGE) -> dict[str, Path]:
    """Every module of the package: dotted name -> file."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _owner(name: str, known) -> str | None:
    """The module of ``known`` that a dotted name is, or lies in (``a.b.c`` -> ``a.b``)."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def _base(module: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    parts = module.split(".")
    if path.name != "__init__.py":
        parts.pop()
    parts = parts[:len(parts) - node.level + 1]
    return ".".join(parts + ([node.module] if node.module else []))


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


class Imports:
    """What one module imports: the package modules, the third-party tops, private names."""

    def __init__(self, module: str, path: Path, known):
        self.module, self.path = module, path
        self.edges, self.third_party, self.private = set(), set(), []
        self.at_import = set()
        self.tree = ast.parse(path.read_text(), filename=str(path))
        aliases = {}
        for node, deferred in _walk(self.tree):
            if isinstance(node, ast.Import | ast.ImportFrom) and not deferred:
                self.at_import |= {(node.module or "") if isinstance(node, ast.ImportFrom)
                                   else alias.name for alias in node.names}
            if isinstance(node, ast.Import):
                for alias in node.names:
                    self._add(alias.name, known, node)
                    if alias.name.split(".")[0] == "vaednn":
                        aliases[alias.asname or alias.name.split(".")[0]] = \
                            alias.name if alias.asname else "vaednn"
            elif isinstance(node, ast.ImportFrom):
                base = _base(module, path, node)
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    if full in known:
                        self._add(full, known, node)
                        aliases[alias.asname or alias.name] = full
                        continue
                    self._add(base, known, node)
                    owner = _owner(base, known)
                    if owner and owner != module and _is_private(alias.name):
                        self.private.append(f"{module}:{node.lineno} imports {owner}.{alias.name}")
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Attribute) and _is_private(node.attr):
                target = _dotted(node.value, aliases)
                if target in known and target != module:
                    self.private.append(f"{module}:{node.lineno} reads {target}.{node.attr}")

    def _add(self, name: str, known, node) -> None:
        top = name.split(".")[0]
        if top != "vaednn":
            if top:
                self.third_party.add(top)
            return
        owner = _owner(name, known)
        if owner and owner != self.module:
            self.edges.add(owner)


def _walk(node, deferred=False):
    """Every node under ``node``, with whether it runs only when a function is called."""
    for child in ast.iter_child_nodes(node):
        inside = deferred or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        yield child, inside
        yield from _walk(child, inside)


def _dotted(node, aliases) -> str | None:
    """The module a ``name.attr.attr`` expression names, through the module's import aliases."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in aliases:
        return None
    return ".".join([aliases[node.id], *reversed(parts)])


def import_graph(package: Path = PACKAGE) -> dict[str, Imports]:
    """Every module's :class:`Imports`."""
    known = modules(package)
    return {name: Imports(name, path, known) for name, path in known.items()}


def cycles(graph: dict[str, set]) -> list[list[str]]:
    """The import circles: each strongly connected component of more than one module, as
    one circle through it (Tarjan's algorithm, then a path back to its first module)."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def connect(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return [_circle(component, graph) for component in components]


def _circle(component, graph) -> list[str]:
    start, members = component[0], set(component)
    paths, seen = [[start]], {start}
    while paths:
        path = paths.pop(0)
        for w in sorted(graph.get(path[-1], ())):
            if w == start:
                return path + [start]
            if w in members and w not in seen:
                seen.add(w)
                paths.append(path + [w])
    raise AssertionError(f"no circle through {component}")


def layer_of(module: str) -> str:
    """The layer of a module: of the longest listed name it is or lies in."""
    best = None
    for layer, names in LAYERS.items():
        for name in names:
            if (module == name or module.startswith(name + ".")) and \
                    (best is None or len(name) > len(best[1])):
                best = (layer, name)
    if best is None:
        raise AssertionError(f"{module} is in no layer of LAYERS (and of ARCHITECTURE.md)")
    return best[0]


def direction_violations(graph: dict[str, Imports]) -> list[str]:
    """Imports that go up, or sideways between two layers of the same height."""
    bad = []
    for module, imports in sorted(graph.items()):
        mine = layer_of(module)
        for target in sorted(imports.edges):
            theirs = layer_of(target)
            if theirs != mine and RANK[theirs] >= RANK[mine]:
                bad.append(f"{module} ({mine}) imports {target} ({theirs})")
            if target in ENTRY_POINTS and module not in ENTRY_POINTS[target]:
                bad.append(f"{module} imports {target}, which only notebooks and the "
                           "command line may use")
        for top in sorted(imports.third_party & set(NEVER.get(mine, ()))):
            bad.append(f"{module} ({mine}) imports {top}")
        loaded = {name.split(".")[0] for name in imports.at_import}
        for top in sorted(loaded & set(DEFERRED.get(mine, ()))):
            bad.append(f"{module} ({mine}) imports {top} when it is imported")
    return bad


@pytest.fixture(scope="module")
def graph():
    return import_graph()


def test_the_checker_finds_a_circle_and_a_private_read(tmp_path):
    package = tmp_path / "vaednn"
    (package / "inner").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from vaednn import b\n    return b._g()\n")
    (package / "b.py").write_text("from vaednn.inner.c import _h\n")
    (package / "inner" / "__init__.py").write_text("")
    (package / "inner" / "c.py").write_text("from .. import a\n\n\ndef _h():\n    pass\n")
    found = import_graph(package)
    edges = {name: imports.edges for name, imports in found.items()}
    assert cycles(edges) == [["vaednn.a", "vaednn.b", "vaednn.inner.c", "vaednn.a"]]
    private = sorted(p for imports in found.values() for p in imports.private)
    assert private == ["vaednn.a:3 reads vaednn.b._g", "vaednn.b:1 imports vaednn.inner.c._h"]
    assert cycles({"x": {"y"}, "y": set()}) == []


def test_no_import_circles(graph):
    edges = {name: imports.edges for name, imports in graph.items()}
    assert cycles(edges) == []


def test_no_private_names_across_modules(graph):
    private = [line for imports in graph.values() for line in imports.private]
    assert private == []


def test_no_private_method_of_another_module_is_called(graph):
    # A method protocol between modules (the trainers calling a model's methods) is public:
    # ``obj._name()`` where only another module defines ``_name`` is a hidden protocol.
    defined = {name: {node.name for node in ast.walk(imports.tree)
                      if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}
               for name, imports in graph.items()}
    elsewhere = {}
    for name, functions in defined.items():
        for function in functions:
            if _is_private(function):
                elsewhere.setdefault(function, set()).add(name)
    bad = []
    for name, imports in graph.items():
        for node in ast.walk(imports.tree):
            if not (isinstance(node, ast.Attribute) and node.attr in elsewhere):
                continue
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                continue
            if isinstance(owner, ast.Call) and getattr(owner.func, "id", None) == "super":
                continue
            if node.attr not in defined[name]:
                bad.append(f"{name}:{node.lineno} calls .{node.attr} of "
                           f"{sorted(elsewhere[node.attr])}")
    assert bad == []


def test_imports_follow_the_layers(graph):
    assert direction_violations(graph) == []


def test_every_module_is_in_a_layer_and_reachable_from_the_package(graph):
    for name in graph:
        layer_of(name)
    top_level = {name.split(".")[1] for name in graph if name.count(".") >= 1}
    public = sorted(name for name in top_level if not name.startswith("_"))
    # A fresh interpreter: in this one, importing a submodule anywhere sets the attribute.
    script = ("import json, sys, vaednn\n"
              "names = json.loads(sys.argv[1])\n"
              "print(json.dumps([n for n in names if n in vaednn.__all__ and "
              "getattr(vaednn, n).__name__ == 'vaednn.' + n]))\n"
              "print(vaednn.anomaly.make.__name__)")
    done = subprocess.run([sys.executable, "-c", script, json.dumps(public)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    reachable, make = done.stdout.splitlines()[-2:]
    assert json.loads(reachable) == public and make == "make"


def test_direction_check_catches_a_model_import_in_data():
    fake = Imports.__new__(Imports)
    fake.edges, fake.third_party = {"vaednn.models.fitting"}, {"matplotlib", "keras"}
    fake.at_import = {"keras.ops"}
    assert direction_violations({"vaednn.data": fake}) == [
        "vaednn.data (data) imports vaednn.models.fitting (models)",
        "vaednn.data (data) imports matplotlib",
        "vaednn.data (data) imports keras when it is imported"]
    fake.edges, fake.third_party, fake.at_import = {"vaednn.workflow"}, set(), set()
    assert direction_violations({"vaednn.scan": fake}) == [
        "vaednn.scan (studies) imports vaednn.workflow (glue)",
        "vaednn.scan imports vaednn.workflow, which only notebooks and the command line may use"]


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_importing_compare_prints_nothing(backend):
    # A library user's console: no TF_CPP_MIN_LOG_LEVEL, no Makefile environment.
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["KERAS_BACKEND"] = backend
    done = subprocess.run([sys.executable, "-c", "import vaednn.compare"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (done.stdout, done.stderr) == ("", "")
