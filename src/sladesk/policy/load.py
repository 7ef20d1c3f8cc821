"""YAML to policy: ruamel.yaml keeps every node's line, so each problem names file, line and field."""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, get_origin

from pydantic import TypeAdapter, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.tokens import (
    BlockEndToken,
    BlockMappingStartToken,
    BlockSequenceStartToken,
    FlowMappingEndToken,
    FlowMappingStartToken,
    FlowSequenceEndToken,
    FlowSequenceStartToken,
)

from sladesk.errors import PolicyError, Problem, UnknownPolicyError
from sladesk.policy.checks import Location, reference_problems
from sladesk.policy.model import NestedProblemsError, PolicySpec, SeveritySpec
from sladesk.policy.policy import Policy

BUILTIN_IDS = ("alli", "alleo", "aspenware", "sourcegraph", "choozle")


def builtin_path(policy_id: str) -> Path:
    return Path(str(resources.files("sladesk.policy") / "builtin" / f"{policy_id}.yaml"))


def load_policy(reference: str | Path) -> Policy:
    """A built-in policy by id (`alleo`) or a policy YAML file by path."""
    text = str(reference)
    if text in BUILTIN_IDS:
        return _load_builtin(text)
    path = Path(text)
    if path.is_file():
        stat = path.stat()
        return _load_file(str(path.resolve()), text, stat.st_mtime_ns, stat.st_size)
    raise UnknownPolicyError(
        f"unknown policy {text!r}: not a built-in id ({', '.join(BUILTIN_IDS)}) nor a readable file"
    )


@functools.lru_cache(maxsize=64)
def _load_file(resolved: str, display_name: str, mtime_ns: int, size: int) -> Policy:
    """Keyed by the file's change time and size, so an edited policy is read again."""
    return read_policy_file(Path(resolved), display_name)


@functools.cache
def _load_builtin(policy_id: str) -> Policy:
    return read_policy_file(builtin_path(policy_id), display_name=f"{policy_id}.yaml")


def read_yaml(path: Path, display_name: str | None = None) -> Any:
    """The parsed document, with line numbers kept; YAML syntax errors become located problems."""
    name = display_name or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise PolicyError([Problem(name, None, "", f"cannot read the file: {error.strerror}")]) from None
    return parse_yaml(text, name)


MAX_NESTING = 64  # levels of mappings and sequences a policy may nest; its own nest fewer than ten

_OPENINGS = (FlowMappingStartToken, FlowSequenceStartToken, BlockMappingStartToken, BlockSequenceStartToken)
_CLOSINGS = (FlowMappingEndToken, FlowSequenceEndToken, BlockEndToken)


def parse_yaml(text: str, name: str) -> Any:
    """YAML text parsed with its line numbers; a syntax error is a located problem in `name`.

    Text nesting deeper than `MAX_NESTING` levels is refused before it is parsed: the parser recurses
    once a level, so deep enough text would exhaust the stack.
    """
    try:
        _check_nesting(text, name)
        return _yaml().load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        message = " ".join(str(part) for part in (error.context, error.problem) if part)
        raise PolicyError([Problem(name, line, "", f"YAML syntax: {message}")]) from None
    except ReaderError as error:  # a character YAML does not allow, such as NUL
        line = text.count("\n", 0, error.position) + 1
        message = f"character #x{error.character:04x} is not allowed in YAML"
        raise PolicyError([Problem(name, line, "", message)]) from None
    except _NotTextError as error:
        message = "an escape here makes a lone surrogate (\\ud800-\\udfff), which is not a character; write text"
        raise PolicyError([Problem(name, error.line, "", message)]) from None


_SURROGATE = re.compile("[\ud800-\udfff]")


class _NotTextError(Exception):
    """A scalar whose escapes make a lone surrogate, which no text can hold (nor the database store)."""

    def __init__(self, line: int) -> None:
        self.line = line


class _Constructor(RoundTripConstructor):
    """Round-trip construction, except that a scalar that cannot be what it looks or is tagged as
    (`2026-12-32`, `!!int abc`) stays text.

    The model then reports it where it is used, with its line and field, instead of the parser failing.
    """

    def construct_scalar(self, node: Any) -> Any:
        value = super().construct_scalar(node)
        if isinstance(value, str) and _SURROGATE.search(value):
            raise _NotTextError(node.start_mark.line + 1)
        return value

    def construct_yaml_timestamp(self, node: Any, values: Any = None) -> Any:
        try:
            return super().construct_yaml_timestamp(node, values)
        except ValueError:
            return str(node.value)

    def construct_yaml_int(self, node: Any) -> Any:
        try:
            return super().construct_yaml_int(node)
        except ValueError:
            return str(node.value)

    def construct_yaml_float(self, node: Any) -> Any:
        try:
            return super().construct_yaml_float(node)
        except ValueError:
            return str(node.value)

    def construct_yaml_sbool(self, node: Any) -> Any:
        try:
            return super().construct_yaml_sbool(node)
        except (KeyError, ValueError):
            return str(node.value)


for _tag, _construct in (
    ("timestamp", _Constructor.construct_yaml_timestamp),
    ("int", _Constructor.construct_yaml_int),
    ("float", _Constructor.construct_yaml_float),
    ("bool", _Constructor.construct_yaml_sbool),
):
    _Constructor.add_constructor(f"tag:yaml.org,2002:{_tag}", _construct)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor
    return yaml


def _check_nesting(text: str, name: str) -> None:
    depth = 0
    for token in YAML(typ="rt").scan(text):  # tokens one by one, without recursing
        if isinstance(token, _OPENINGS):
            depth += 1
            if depth > MAX_NESTING:
                line = token.start_mark.line + 1
                message = f"mappings and sequences nest deeper than {MAX_NESTING} levels"
                raise PolicyError([Problem(name, line, "", message)])
        elif isinstance(token, _CLOSINGS):
            depth -= 1


def read_policy_file(path: Path, display_name: str | None = None) -> Policy:
    """Load and check a policy file; raise `PolicyError` with every problem found."""
    name = display_name or str(path)
    document = read_yaml(path, display_name)
    return policy_from_document(document, name)


def policy_from_text(text: str, name: str) -> Policy:
    """A policy from YAML text (an upload, a stored version); problems are located in `name`."""
    return policy_from_document(parse_yaml(text, name), name)


def builtin_source(policy_id: str) -> str:
    """The YAML text of a built-in policy, as shipped."""
    return builtin_path(policy_id).read_text(encoding="utf-8")


def policy_from_document(document: Any, name: str) -> Policy:
    if not isinstance(document, Mapping):
        raise PolicyError([Problem(name, 1, "", "a policy file must be a mapping of fields (id, name, ...)")])
    try:
        spec = PolicySpec.model_validate(document)
    except ValidationError as error:
        problems = _validation_problems(error, document, name)
        broken = {str(detail["loc"][0]) for detail in error.errors() if detail["loc"]}
        partial = _partial_spec(document, broken)
        references = reference_problems(partial, broken, document)
        problems.extend(located(document, name, where, message) for where, message in references)
        problems.sort(key=lambda problem: problem.line or 0)
        raise PolicyError(problems) from None
    problems = [located(document, name, where, message) for where, message in reference_problems(spec)]
    if problems:
        problems.sort(key=lambda problem: problem.line or 0)
        raise PolicyError(problems)
    return Policy(spec, name)


def _partial_spec(document: Mapping[str, Any], broken: set[str]) -> PolicySpec:
    """The top-level fields that validate on their own; those that do not are added to `broken` and
    left empty, so the reference checks can still run on the rest."""
    values: dict[str, Any] = {}
    for field_name, field in PolicySpec.model_fields.items():
        if field_name in document:
            if field_name not in broken:
                try:
                    values[field_name] = _field_adapter(field_name).validate_python(document[field_name])
                    continue
                except ValidationError:
                    broken.add(field_name)
            if field_name == "severities":
                values[field_name] = _partial_severities(document[field_name])
                continue
        if field.is_required():
            origin = get_origin(field.annotation)
            values[field_name] = {} if origin is dict else () if origin is tuple else ""
    return PolicySpec.model_construct(**values)


def _partial_severities(raw: Any) -> tuple[SeveritySpec, ...]:
    """Each severity as far as it validates: a broken one keeps its code, rank and the targets that
    read, so their references are checked too; what cannot be told gets a value no other has."""
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        return ()
    severities = []
    for index, item in enumerate(raw):
        try:
            severities.append(SeveritySpec.model_validate(item))
            continue
        except ValidationError:
            pass
        fields = item if isinstance(item, Mapping) else {}
        values: dict[str, Any] = {"code": f"\0{index}", "rank": -1 - index, "targets": {}}
        for key in ("code", "rank"):
            with contextlib.suppress(ValidationError):
                values[key] = _severity_adapter(key).validate_python(fields.get(key))
        targets = fields.get("targets")
        for metric_id, target in targets.items() if isinstance(targets, Mapping) else ():
            with contextlib.suppress(ValidationError):
                values["targets"].update(_severity_adapter("targets").validate_python({metric_id: target}))
        severities.append(SeveritySpec.model_construct(**values))
    return tuple(severities)


@functools.cache
def _severity_adapter(field_name: str) -> TypeAdapter[Any]:
    field = SeveritySpec.model_fields[field_name]
    annotation: Any = Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation
    return TypeAdapter(annotation)


@functools.cache
def _field_adapter(field_name: str) -> TypeAdapter[Any]:
    annotation: Any = PolicySpec.model_fields[field_name].annotation
    return TypeAdapter(annotation)


def _validation_problems(error: ValidationError, document: Any, name: str) -> list[Problem]:
    problems: list[Problem] = []
    details = error.errors()
    failing = [tuple(d["loc"]) for d in details]
    for detail in details:
        loc = tuple(detail["loc"])
        if detail["type"] == "too_short" and any(other[: len(loc)] == loc and other != loc for other in failing):
            continue  # a list whose items failed is also "too short": the items' own errors say why
        cause = detail.get("ctx", {}).get("error")
        if isinstance(cause, NestedProblemsError):
            problems.extend(located(document, name, (*loc, *where), message) for where, message in cause.problems)
            continue
        message = detail["msg"].removeprefix("Value error, ")
        if detail["type"] == "extra_forbidden":
            message = f"unknown field {loc[-1]!r}"
        elif detail["type"] == "missing":
            message = f"missing required field {loc[-1]!r}"
        problems.append(located(document, name, loc, message))
    return _one_per_union(problems)


_SHOULD_BE = "Input should be "


def _one_per_union(problems: list[Problem]) -> list[Problem]:
    """A value that fits none of a field's alternatives is one problem naming them all, not one per
    alternative (`Input should be '24x7' or a valid dictionary`)."""
    merged: list[Problem] = []
    for problem in problems:
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and (previous.line, previous.field) == (problem.line, problem.field)
            and previous.message.startswith(_SHOULD_BE)
            and problem.message.startswith(_SHOULD_BE)
        ):
            alternative = problem.message.removeprefix(_SHOULD_BE)
            merged[-1] = Problem(previous.file, previous.line, previous.field, f"{previous.message} or {alternative}")
            continue
        merged.append(problem)
    return merged


def located(document: Any, name: str, loc: Location, message: str) -> Problem:
    """A problem at a pydantic-style location, with the line of the deepest node that exists."""
    node = document
    line = 1
    path: list[str] = []
    for position, key in enumerate(loc):
        last = position == len(loc) - 1
        if isinstance(node, Mapping) and isinstance(key, str) and key in node:
            line = _line_of_key(node, key, line)
            node = node[key]
            path.append(f".{key}" if path else key)
        elif isinstance(node, Sequence) and not isinstance(node, str) and isinstance(key, int):
            if 0 <= key < len(node):
                line = _line_of_item(node, key, line)
                node = node[key]
            path.append(f"[{key}]")
        elif last and isinstance(key, str) and "[" not in key:
            path.append(f".{key}" if path else key)  # a missing field: point at its parent
        # else: a pydantic type tag such as `function-before[...]`, not a key of the file
    return Problem(name, line, "".join(path), message)


def _line_of_key(node: Any, key: str, default: int) -> int:
    try:
        return int(node.lc.key(key)[0]) + 1
    except (AttributeError, KeyError, TypeError):
        return default


def _line_of_item(node: Any, index: int, default: int) -> int:
    try:
        return int(node.lc.item(index)[0]) + 1
    except (AttributeError, KeyError, TypeError, IndexError):
        return default
