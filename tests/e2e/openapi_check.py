"""Checking live answers against the OpenAPI document (operator_ws/openapi, docs/openapi.md).

:class:`ResponseChecker` validates a response body against the schema the document gives
for that operation and status, with JSON Schema 2020-12 (``jsonschema``; OpenAPI 3.1's
schemas are that dialect) and its format checker (``date-time`` is checked).

Strict: the published document leaves objects open (a client must accept fields added
later: CONTRACT.md, "extend, never break"), but here every object schema that lists its
``properties`` and says nothing about others gets ``unevaluatedProperties: false``, so a
field the server sends and the document does not describe fails the test, as does a
missing required field or a wrong type.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

__all__ = [
    "HTTP_METHODS",
    "ResponseChecker",
    "documented_operations",
    "pointer",
    "strict",
]

HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})
_URI = "urn:inbox:openapi"


def documented_operations(document: Mapping[str, Any]) -> set[tuple[str, str]]:
    """``(METHOD, path template)`` of every operation in the document."""
    return {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def pointer(*parts: str) -> str:
    """A JSON pointer of these keys (``/`` and ``~`` escaped)."""
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def strict(document: Mapping[str, Any]) -> dict[str, Any]:
    """A copy in which object schemas with ``properties`` admit no other properties
    unless they say so (``additionalProperties``/``unevaluatedProperties``).

    A schema composed with ``allOf`` is closed as a whole instead (its parts each list only
    some of the fields, and ``unevaluatedProperties`` on the composition sees what every
    part evaluated); its parts, inline or by ``$ref``, stay open."""
    doc = copy.deepcopy(dict(document))
    parts: set[int] = set()
    referenced: set[str] = set()
    for node in _walk(doc):
        for part in node.get("allOf") or []:
            parts.add(id(part))
            ref = part.get("$ref", "")
            if ref.startswith("#/components/schemas/"):
                referenced.add(ref.rsplit("/", 1)[1])
    schemas = doc.get("components", {}).get("schemas", {})
    for name in referenced:
        parts.add(id(schemas.get(name)))
    for node in _walk(doc):
        if "allOf" in node and "unevaluatedProperties" not in node:
            node["unevaluatedProperties"] = False
        elif id(node) not in parts:
            _close(node)
    return doc


def _close(node: dict[str, Any]) -> None:
    kind = node.get("type")
    is_object = kind == "object" or (isinstance(kind, list) and "object" in kind)
    if (
        is_object
        and isinstance(node.get("properties"), dict)
        and "additionalProperties" not in node
        and "unevaluatedProperties" not in node
    ):
        node["unevaluatedProperties"] = False


class ResponseChecker:
    """Validates bodies against ``document`` (made strict with :func:`strict`)."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = strict(document)
        resource = Resource.from_contents(self.document, default_specification=DRAFT202012)
        self._registry: Registry[Any] = Registry().with_resource(_URI, resource)
        self.checked: set[tuple[str, str, int]] = set()

    def schema_pointer(
        self, method: str, template: str, status: int, media_type: str = "application/json"
    ) -> str | None:
        """Where the schema of that answer in ``media_type`` is, or None when the document
        gives the answer no body of that type; raises AssertionError when it does not list
        the status, or lists bodies of other types only (``text/csv`` for a JSON answer)."""
        operation = self.document["paths"].get(template, {}).get(method.lower())
        assert operation is not None, f"{method} {template} is not in the document"
        responses = operation["responses"]
        key = str(status) if str(status) in responses else "default"
        assert key in responses, (
            f"{method} {template} answered {status}, which the document does not list "
            f"(it lists {sorted(responses)})"
        )
        at = pointer("paths", template, method.lower(), "responses", key)
        response = responses[key]
        while "$ref" in response:
            ref = response["$ref"]
            assert ref.startswith("#/"), ref
            at = ref[1:]
            response = self._resolve(at)
        content = response.get("content", {})
        if media_type not in content:
            family = media_type.split("/", 1)[0] + "/*"
            if "*/*" in content or family in content:
                return None  # a file of any type: its bytes have no schema to check
            assert not content or media_type == "application/json", (
                f"{method} {template} {status} answered {media_type}, which the document "
                f"does not list (it lists {sorted(content)})"
            )
            return None
        return at + pointer("content", media_type, "schema")

    def errors(
        self,
        method: str,
        template: str,
        status: int,
        body: Any,
        document: Any = None,
        media_type: str = "application/json",
    ) -> list[str]:
        """Every way ``body`` misses the schema (empty when it fits). ``document``
        replaces the checker's own (already strict) document, for tests of the checker."""
        at = self.schema_pointer(method, template, status, media_type)
        if at is None:
            return []
        registry = self._registry
        if document is not None:
            resource = Resource.from_contents(document, default_specification=DRAFT202012)
            registry = Registry().with_resource(_URI, resource)
        validator = Draft202012Validator(
            {"$ref": f"{_URI}#{at}"},
            registry=registry,
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )
        found: list[ValidationError] = sorted(
            validator.iter_errors(body), key=lambda e: list(e.absolute_path)
        )
        return [f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}" for e in found]

    def check(
        self,
        method: str,
        template: str,
        status: int,
        body: Any,
        media_type: str = "application/json",
    ) -> None:
        """Assert that ``body`` fits; remember the operation and status as checked."""
        problems = self.errors(method, template, status, body, media_type=media_type)
        assert not problems, (
            f"{method} {template} {status} does not match the document:\n  "
            + "\n  ".join(problems[:20])
        )
        self.checked.add((method.upper(), template, status))

    def _resolve(self, at: str) -> Any:
        node: Any = self.document
        for raw in at.lstrip("/").split("/"):
            node = node[raw.replace("~1", "/").replace("~0", "~")]
        return node
