"""The house rules of docs/architecture.md, checked on the source: every import statement of every
module (inside functions and ``TYPE_CHECKING`` blocks too), read from its syntax tree.

- a service package (``services/*/kabar_*``) imports no other service;
- of ``kabar`` a service imports only the contract (``kabar.contract``) and what services share beside
  it (``kabar.service_api``), never the composition root (``kabar.api``, ``kabar.cli``,
  ``kabar.embedded``, ``kabar.deadletter_api``, ``kabar.jsonl``);
- the contract and ``kabar.service_api`` import no service and nothing else of ``kabar``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVICES = {path.name: path for path in sorted(ROOT.glob("services/*/kabar_*")) if path.is_dir()}
SHARED = ("kabar.contract", "kabar.service_api")


def imported_modules(source: str, package: str) -> Iterator[tuple[int, str]]:
    """(line, module) for every import in ``source``, relative imports resolved against ``package``."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                yield node.lineno, f"{base}.{node.module}" if node.module else base
            elif node.module:
                yield node.lineno, node.module


def is_under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def broken_rules(module_name: str, source: str, own_package: str) -> list[str]:
    """What one module imports that its place in the house does not allow."""
    problems = []
    shared_only = any(is_under(module_name, prefix) for prefix in SHARED)
    for line, module in imported_modules(source, module_name.rsplit(".", 1)[0]):
        top = module.split(".")[0]
        if top in SERVICES and top != own_package:
            problems.append(f"{module_name}:{line} imports the service {module}")
        elif top == "kabar" and (own_package in SERVICES or shared_only) \
                and not any(is_under(module, prefix) for prefix in SHARED):
            problems.append(f"{module_name}:{line} imports {module}, which is the composition root's")
        elif shared_only and is_under(module, "kabar.service_api") and is_under(module_name, "kabar.contract"):
            problems.append(f"{module_name}:{line}: the contract imports {module}")
    return problems


def modules_of(package_dir: Path, package: str) -> Iterator[tuple[str, str]]:
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(package_dir).with_suffix("").parts
        dotted = ".".join((package, *parts)).removesuffix(".__init__")
        yield dotted, path.read_text(encoding="utf-8")


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_a_service_imports_only_itself_and_what_services_share(service: str) -> None:
    problems = [problem for name, source in modules_of(SERVICES[service], service)
                for problem in broken_rules(name, source, service)]
    assert not problems, "\n".join(problems)


def test_the_contract_and_the_shared_api_import_no_service_and_no_composition() -> None:
    kabar = ROOT / "src" / "kabar"
    modules = [*modules_of(kabar / "contract", "kabar.contract"),
               ("kabar.service_api", (kabar / "service_api.py").read_text(encoding="utf-8"))]
    problems = [problem for name, source in modules for problem in broken_rules(name, source, "kabar")]
    assert not problems, "\n".join(problems)


def test_the_rules_catch_what_they_forbid() -> None:
    """The checker itself: each forbidden import is reported, and the allowed ones are not."""
    search = "kabar_search.api"
    assert broken_rules(search, "from kabar_ingest.push_api import ingest_routers", "kabar_search")
    assert broken_rules(search, "def f():\n    import kabar_enrich.stage", "kabar_search")
    assert broken_rules(search, "if TYPE_CHECKING:\n    from kabar.embedded import InlinePipeline", "kabar_search")
    assert broken_rules(search, "from kabar import cli", "kabar_search")
    assert broken_rules(search, "from kabar.deadletter_api import replay_sender", "kabar_search")
    assert broken_rules("kabar.contract.runner", "from kabar_search.stage import build_handler", "kabar")
    assert broken_rules("kabar.contract.runner", "from kabar.embedded import InlinePipeline", "kabar")
    assert broken_rules("kabar.contract.runner", "from kabar.service_api import problem", "kabar")
    assert not broken_rules(search, "from kabar.contract.stages import Payload\nfrom kabar.service_api import problem\n"
                                    "from kabar_search.web import router\nfrom . import models", "kabar_search")
    assert not broken_rules("kabar.service_api", "from kabar.contract.settings import KabarSettings", "kabar")
    assert SERVICES.keys() == {"kabar_ingest", "kabar_enrich", "kabar_search"}
