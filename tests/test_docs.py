"""The manual (docs/) against the code: every `d2a` command, every setting and every key binding
has its reference entry, the generated CLI reference is current, and every test file, bench
script and source file the manual names exists. Each test fails when something is added without its docs."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
import pkgutil
import re
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from textual.binding import Binding
from textual.dom import DOMNode
from textual.keys import format_key, key_to_character

import d2a_tui

ROOT = Path(__file__).parents[1]
DOCS = ROOT / "docs"
REFERENCE = DOCS / "reference"


def _cli_reference() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cli_reference", DOCS / "cli_reference.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pages() -> dict[Path, str]:
    pages = {path: path.read_text(encoding="utf-8") for path in DOCS.rglob("*.md")}
    pages[ROOT / "README.md"] = (ROOT / "README.md").read_text(encoding="utf-8")
    return pages


# --- commands ------------------------------------------------------------------------------------


def test_every_command_and_subcommand_has_its_section_in_the_cli_reference() -> None:
    page = (REFERENCE / "cli.md").read_text(encoding="utf-8")
    headings = set(re.findall(r"^#{2,4} (d2a(?: [\w-]+)*)$", page, flags=re.M))
    commands = {" ".join(path) for path, _ in _cli_reference().commands(_build_parser())}
    assert len(commands) > 40  # the walk reached the sub-commands, not only `d2a`
    missing = sorted(commands - headings)
    assert not missing, f"not in docs/reference/cli.md: {missing}: run docs/cli_reference.py"
    gone = sorted(headings - commands)
    assert not gone, f"docs/reference/cli.md documents commands d2a no longer has: {gone}"


def _build_parser() -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = _cli_reference().build_parser()
    return parser


def test_the_cli_reference_is_what_the_parser_says_now() -> None:
    reference = _cli_reference()
    page = (REFERENCE / "cli.md").read_text(encoding="utf-8")
    written_on = re.search(r"on Python (\d+\.\d+)", page)
    assert written_on, "docs/reference/cli.md lost the line saying which Python wrote it"
    if written_on.group(1) != reference.python_version():
        pytest.skip(
            f"argparse lays help out differently on Python {reference.python_version()} than on "
            f"{written_on.group(1)}, which wrote the page; the headings are checked above"
        )
    assert page == reference.render(), (
        "docs/reference/cli.md differs from the commands' --help: run "
        ".venv/bin/python docs/cli_reference.py and commit the page"
    )


def _json_commands() -> set[str]:
    found = set()
    for path, parser in _cli_reference().commands(_build_parser()):
        if any("--json" in action.option_strings for action in parser._actions):
            found.add(" ".join(path))
    return found


def test_every_command_with_json_output_is_in_the_json_shapes_page() -> None:
    page = (REFERENCE / "json.md").read_text(encoding="utf-8")
    commands = _json_commands()
    assert "d2a list" in commands
    missing = sorted(
        command
        for command in commands
        if f"`{command}" not in page and f"`{command.removeprefix('d2a ')}`" not in page
    )
    assert not missing, f"commands with --json that docs/reference/json.md does not name: {missing}"


# --- settings ------------------------------------------------------------------------------------


def _package_sources() -> Iterator[tuple[Path, str]]:
    for path in sorted(Path(d2a_tui.__file__).parent.rglob("*.py")):
        yield path, path.read_text(encoding="utf-8")


def test_every_environment_variable_d2a_reads_is_in_the_settings_page() -> None:
    page = (REFERENCE / "settings.md").read_text(encoding="utf-8")
    names = {
        name
        for _, source in _package_sources()
        for name in re.findall(r"\bD2A_[A-Z][A-Z0-9_]*[A-Z0-9]\b", source)
    }
    assert {"D2A_DATABASE_URL", "D2A_TIMEZONE"} <= names
    missing = sorted(name for name in names if f"`{name}`" not in page)
    assert not missing, f"environment variables missing from docs/reference/settings.md: {missing}"


def test_every_config_file_key_is_in_the_settings_page() -> None:
    """A key is read from the parsed config file as `file_values.get("key")` in config.py, or as
    `_read_config_file(…).get("key")` anywhere."""
    page = (REFERENCE / "settings.md").read_text(encoding="utf-8")
    keys: set[str] = set()
    for _, source in _package_sources():
        keys |= set(re.findall(r"file_values\.get\(\s*\"(\w+)\"", source))
        keys |= set(
            re.findall(r"_read_config_file\((?:[^()]|\([^()]*\))*\)\s*\.get\(\s*\"(\w+)\"", source)
        )
    assert {"database_url", "timezone", "keys", "server_database_url", "views", "adt"} <= keys
    missing = sorted(key for key in keys if f"`{key}`" not in page)
    assert not missing, f"config file keys missing from docs/reference/settings.md: {missing}"


def test_every_key_of_the_flow_file_is_in_the_flow_page() -> None:
    """The keys the default flow file holds and the keys the flow's loader reads (`raw.get("…")`,
    `data.get("…")`, and `[security]` from the config's lock), and every default column's id."""
    from d2a_tui.domain import flow

    page = (REFERENCE / "flow.md").read_text(encoding="utf-8")
    default = tomllib.loads(Path(flow.__file__).with_name("default_flow.toml").read_text("utf-8"))
    keys = {key for key in default if key != "column"} | {"column"}
    for value in default.values():
        if isinstance(value, dict):
            keys |= set(value)
    columns = default["column"]
    keys |= {key for column in columns for key in column}
    keys |= set(re.findall(r"\b(?:raw|data)\.get\(\s*\"(\w+)\"", Path(flow.__file__).read_text()))
    keys |= {"security", "lock_after_max"}
    missing = sorted(key for key in keys if f"`{key}`" not in page and f"[{key}]" not in page)
    assert not missing, f"flow file keys missing from docs/reference/flow.md: {missing}"
    unlisted = sorted(column["id"] for column in columns if f"`{column['id']}`" not in page)
    assert not unlisted, f"default columns missing from docs/reference/flow.md: {unlisted}"


# --- key bindings --------------------------------------------------------------------------------


def _classes_with_bindings() -> dict[str, type[DOMNode]]:
    found: dict[str, type[DOMNode]] = {}
    for info in pkgutil.walk_packages(d2a_tui.__path__, "d2a_tui."):
        # __main__ runs the command; the migrations' env needs alembic's running context.
        if info.name.endswith("__main__") or ".migrations" in info.name:
            continue
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(cls, DOMNode)
                and cls.__module__ == module.__name__
                and "BINDINGS" in cls.__dict__
            ):
                found[cls.__name__] = cls
    return found


def _sections(page: str) -> list[tuple[str, str]]:
    """(heading, body) for each `##` section of a page."""
    parts = re.split(r"^## (.+)$", page, flags=re.M)
    return list(zip(parts[1::2], parts[2::2], strict=True))


def _spellings(key: str) -> set[str]:
    spellings = {key, format_key(key)}
    character = key_to_character(key)
    if character and character.isprintable():
        spellings.add(character)
    return spellings


def test_every_key_binding_of_the_app_and_its_screens_is_in_the_keys_page() -> None:
    page = (REFERENCE / "keys.md").read_text(encoding="utf-8")
    sections = _sections(page)
    classes = _classes_with_bindings()
    assert {"D2AApp", "BoardScreen", "JourneyScreen"} <= set(classes)
    problems = []
    for name, cls in sorted(classes.items()):
        bodies = [body for heading, body in sections if f"`{name}`" in heading]
        if not bodies:
            problems.append(f"{name}: no section whose heading names `{name}`")
            continue
        body = bodies[0]
        for binding in cls.__dict__["BINDINGS"]:
            assert isinstance(binding, Binding), f"{name} declares a binding as a tuple"
            if binding.id and f"`{binding.id}`" not in body:
                problems.append(f"{name}: id `{binding.id}` ({binding.key} → {binding.action})")
            for key in binding.key.split(","):
                if not any(f"`{spelling}`" in body for spelling in _spellings(key.strip())):
                    problems.append(f"{name}: key `{key}` ({binding.action})")
    assert not problems, "key bindings missing from docs/reference/keys.md:\n" + "\n".join(problems)


# --- what the manual names exists ----------------------------------------------------------------


def test_every_test_file_and_bench_script_the_manual_names_exists() -> None:
    named: dict[str, set[str]] = {}
    for path, text in _pages().items():
        for found in re.findall(r"\b((?:tests|bench)/[\w/]+\.py)\b", text):
            named.setdefault(found, set()).add(str(path.relative_to(ROOT)))
    assert "tests/test_layers.py" in named  # the pattern reads the pages as they are written
    missing = {name: sorted(pages) for name, pages in named.items() if not (ROOT / name).exists()}
    assert not missing, f"the manual names files that do not exist: {missing}"


def test_every_source_file_the_manual_names_exists() -> None:
    """A path from the repository's root (`d2a_tui/domain/delays.py`, `docs/cli_reference.py`): a
    module moved or renamed leaves the manual pointing at nothing until it follows."""
    named: dict[str, set[str]] = {}
    for path, text in _pages().items():
        for found in re.findall(r"`((?:d2a_tui|docs)/[\w/]+\.(?:py|toml|tcss))`", text):
            named.setdefault(found, set()).add(str(path.relative_to(ROOT)))
    assert "d2a_tui/config.py" in named
    missing = {name: sorted(pages) for name, pages in named.items() if not (ROOT / name).exists()}
    assert not missing, f"the manual names files that do not exist: {missing}"


def test_every_test_folder_the_manual_names_exists() -> None:
    named = {
        found.rstrip("/")
        for text in _pages().values()
        for found in re.findall(r"`(tests/[\w/]+?)/?`", text)
        if not found.endswith(".py")
    }
    missing = sorted(name for name in named if not (ROOT / name).is_dir())
    assert not missing, f"the manual names test folders that do not exist: {missing}"


def test_the_readme_stays_a_front_door() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 150, "README.md is the front door: the rest goes in docs/"
    for must in ("make demo", "make test", "make install", "CREATEDB", "D2A_TEST_DB_PREFIX"):
        assert must in readme, f"README.md's quick start lost {must!r}"


def test_every_page_is_in_the_nav() -> None:
    """mkdocs --strict says so too; this says it without building, in the fast tests."""
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    pages = sorted(str(path.relative_to(DOCS)) for path in DOCS.rglob("*.md"))
    missing = [page for page in pages if page not in config]
    assert not missing, f"pages not in mkdocs.yml's nav: {missing}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__]))
