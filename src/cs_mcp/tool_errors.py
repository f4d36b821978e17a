"""How a failed tool call reads to the model: every argument error names the field, what was sent and
what to send; anything else that escapes a tool still says what went wrong and what to try.

The SDK validates a call's arguments against the tool's pydantic model before the tool runs and
reports pydantic's own text (with its links); `CSServer.call_tool` is the one place that turns those
errors, unknown argument names and unexpected crashes into sentences, for every tool alike.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from pydantic import ValidationError

log = logging.getLogger("cs_mcp")

UNEXPECTED = "the server could not compute this answer"
"""Marks a crash in the message, so tests can tell it from an error the caller caused."""

SHOWN_CHARS = 60
DATE_EXAMPLE = "2026-09-30"


class CSServer(MCPServer):
    """An MCPServer whose tool errors are all written for the model to act on."""

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        schema = self._tool_input_schema(name)
        if schema is not None and (unknown := unknown_arguments(name, arguments, schema)):
            raise ToolError(f"Error executing tool {name}: {unknown}")
        try:
            return await super().call_tool(name, arguments, context)
        except UnexpectedToolError as exc:
            cause = exc.__cause__ or exc
            log.error("tool %s failed unexpectedly", name, exc_info=(type(cause), cause, cause.__traceback__))
            raise ToolError(f"Error executing tool {name}: {unexpected_message(cause)}") from exc
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError) and schema is not None:
                message = argument_errors_message(exc.__cause__, schema)
                # chained to the ValidationError, so the SDK logs the rejected field names only
                raise ToolError(f"Error executing tool {name}: {message}") from exc.__cause__
            raise


def unexpected_message(exc: BaseException) -> str:
    detail = " ".join(str(exc).split())[:160]
    return (
        f"{UNEXPECTED} ({type(exc).__name__}{': ' + detail if detail else ''}). Check the arguments: dates as "
        "YYYY-MM-DD inside the data's range, numbers within the bounds of the tool's input schema; or send "
        "fewer optional arguments. The server log has the details."
    )


# ------------------------------------------------------------------------------ unknown names


def unknown_arguments(tool: str, arguments: dict[str, Any], schema: dict[str, Any]) -> str | None:
    """A sentence naming the arguments the tool does not take, or None."""
    known = list(schema.get("properties", {}))
    unknown = [k for k in arguments if k not in known]
    if not unknown:
        return None
    parts = []
    for key in unknown:
        close = closest_name(key, known)
        parts.append(f"{shown(key)} is not an argument of {tool}" + (f" (did you mean {close}?)" if close else ""))
    return "; ".join(parts) + f". Its arguments are: {', '.join(known) or 'none'}."


# ------------------------------------------------------------------------------ validation


def argument_errors_message(exc: ValidationError, schema: dict[str, Any]) -> str:
    """One sentence per invalid field: the field, what was sent, what to send."""
    lines: dict[str, str] = {}
    for err in exc.errors(include_url=False):
        path, field_schema, parent = locate(schema, err["loc"])
        key = path or "arguments"
        if key not in lines:  # a union reports each branch: the first says enough
            lines[key] = describe(key, err, field_schema, parent, schema)
    return " ".join(lines.values())


def locate(root: dict[str, Any], loc: tuple[Any, ...]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(dotted path, schema of the field, schema of its parent) for a pydantic error location.

    Parts that are not a property or an item index (pydantic's union branch tags) are skipped.
    """
    path = ""
    current, parent = root, root
    for part in loc:
        node = resolve(root, current)
        props = node.get("properties", {})
        if isinstance(part, int) and "items" in node:
            parent, current = node, node["items"]
            path += f"[{part}]"
        elif isinstance(part, str) and part in props:
            parent, current = node, props[part]
            path += f".{part}" if path else part
        elif isinstance(part, str) and node.get("type") == "object" and not node.get("enum"):
            # a key the object does not define (extra_forbidden)
            parent, current = node, {}
            path += f".{part}" if path else part
    return path, resolve(root, current), resolve(root, parent)


def resolve(root: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with $ref followed and the null branch of an optional dropped."""
    for _ in range(10):
        if "$ref" in schema:
            schema = root.get("$defs", {}).get(schema["$ref"].rsplit("/", 1)[-1], {}) | {
                k: v for k, v in schema.items() if k != "$ref"
            }
            continue
        options = [s for s in schema.get("anyOf", []) if s.get("type") != "null"]
        if len(options) == 1:
            schema = options[0] | {k: v for k, v in schema.items() if k != "anyOf"}
            continue
        break
    return schema


def describe(path: str, err: dict[str, Any], schema: dict[str, Any], parent: dict[str, Any],
             root: dict[str, Any]) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    sent = shown(err.get("input"))
    if kind == "missing":
        return f"{path}: required; send {send_hint(schema, root)}."
    if kind == "extra_forbidden":
        keys = list(parent.get("properties", {}))
        close = closest_name(path.rsplit(".", 1)[-1], keys)
        guess = f" (did you mean {close}?)" if close else ""
        return f"{path}: not a known key{guess}; send only these keys: {', '.join(keys)}."
    if kind in ("literal_error", "enum") or "enum" in schema:
        values = schema.get("enum") or []
        return f"{path}: {sent} is not one of {', '.join(str(v) for v in values)}."
    problem = PROBLEMS.get(kind)
    if problem is None:
        problem = bound_problem(kind, ctx, schema) or f"is not valid ({err.get('msg', kind)})"
    return f"{path}: {sent} {problem}; send {send_hint(schema, root)}."


def closest_name(name: str, known: list[str]) -> str | None:
    """The known name `name` most likely meant: one containing the other first, else the most similar."""
    import difflib

    low = name.lower()
    inside = [k for k in known if len(low) >= 3 and (k in low or low in k)]
    if inside:
        return max(inside, key=len)
    close = difflib.get_close_matches(low, known, n=1)
    return close[0] if close else None


def bound_problem(kind: str, ctx: dict[str, Any], schema: dict[str, Any]) -> str | None:
    bound = next((ctx[k] for k in ("ge", "gt", "le", "lt", "max_length", "min_length") if k in ctx), None)
    if isinstance(bound, dt.date):
        bound = bound.isoformat()
    if schema.get("format") == "date" and kind in ("greater_than_equal", "greater_than"):
        return f"is before {bound}"
    if schema.get("format") == "date" and kind in ("less_than_equal", "less_than"):
        return f"is after {bound}"
    if kind == "string_too_short" and bound == 1:
        return "is empty"
    if isinstance(bound, int | float):
        bound = number(bound)
    return {
        "greater_than_equal": f"is below the minimum {bound}",
        "greater_than": f"must be more than {bound}",
        "less_than_equal": f"is above the maximum {bound}",
        "less_than": f"must be less than {bound}",
        "string_too_long": f"is longer than {bound} characters",
        "string_too_short": f"is shorter than {bound} characters",
        "too_long": f"has more than {bound} items",
        "too_short": f"has fewer than {bound} items",
    }.get(kind)


PROBLEMS = {
    **dict.fromkeys(
        ("date_parsing", "date_type", "date_from_datetime_parsing", "date_from_datetime_inexact",
         "date_future", "date_past"),
        "is not a date",
    ),
    **dict.fromkeys(("int_parsing", "int_type", "int_from_float", "int_parsing_size"), "is not a whole number"),
    **dict.fromkeys(("float_parsing", "float_type"), "is not a number"),
    "finite_number": "is not a finite number",
    **dict.fromkeys(("bool_parsing", "bool_type"), "is not true or false"),
    **dict.fromkeys(("string_type", "string_unicode"), "is not text"),
    "string_pattern_mismatch": "is not in the expected form",
    **dict.fromkeys(("list_type", "tuple_type", "set_type"), "is not a list"),
    **dict.fromkeys(("dict_type", "model_type", "model_attributes_type", "dataclass_type"), "is not an object"),
    "json_invalid": "is not valid JSON",
}


def send_hint(schema: dict[str, Any], root: dict[str, Any], described: bool = True) -> str:
    """What a valid value of `schema` looks like, in words (with its description unless `described` is off)."""
    schema = resolve(root, schema)
    about = schema.get("description") if described else None
    if "enum" in schema:
        return "one of " + ", ".join(str(v) for v in schema["enum"])
    kind = schema.get("type")
    if kind == "string" and schema.get("format") == "date":
        from cs_mcp.domain.periods import MAX_DATE, MIN_DATE

        return f"YYYY-MM-DD, e.g. {DATE_EXAMPLE} (from {MIN_DATE} to {MAX_DATE})"
    if kind == "string":
        limit = f"at most {schema['maxLength']} characters" if "maxLength" in schema else ""
        if about:
            return about + (f", {limit}" if limit else "")
        return "text" + (f" of {limit}" if limit else "")
    suffix = f" ({about})" if about else ""
    if kind in ("integer", "number"):
        what = "a whole number" if kind == "integer" else "a number"
        return what + number_range(schema) + suffix
    if kind == "boolean":
        return "true or false" + suffix
    if kind == "array":
        most = f"at most {schema['maxItems']} " if "maxItems" in schema else ""
        return f"a list of {most}items, each {send_hint(schema.get('items', {}), root, False)}" + suffix
    if kind == "object" or "properties" in schema:
        keys = ", ".join(schema.get("properties", {}))
        return f"an object with any of the keys {keys}" + suffix
    return "a valid value" + suffix


def number_range(schema: dict[str, Any]) -> str:
    if "minimum" in schema and "maximum" in schema:
        return f" from {number(schema['minimum'])} to {number(schema['maximum'])}"
    bounds = [
        f"{words} {number(schema[key])}"
        for key, words in (("minimum", "at least"), ("exclusiveMinimum", "more than"),
                           ("maximum", "at most"), ("exclusiveMaximum", "less than"))
        if key in schema
    ]
    return (" " + " and ".join(bounds)) if bounds else ""


def number(v: float) -> str:
    return f"{int(v):,}" if float(v).is_integer() else f"{v:g}"


def shown(value: Any) -> str:
    """The value sent, short enough to quote back."""
    if isinstance(value, str):
        return f"'{clip(value)}'"
    try:
        return clip(json.dumps(value, default=str, ensure_ascii=False))
    except (TypeError, ValueError):
        return clip(repr(value))


def clip(text: str) -> str:
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"
