"""Skills, templates and prompts: markdown files with YAML front matter, rendered from the settings.

Files: `resources/skills/*.md` (kind "skill"), `resources/templates/*.md` ("template") and
`prompts/playbooks/*.md` ("prompt"). Front matter holds `name` (= the file stem), `title`,
`description`; prompts add `arguments` (name, description, required, complete) and `tools`.

Placeholders in a body, all written `{{ ... }}`:
- `{{ renewal.timeline_days.0 }}`: the setting at that dotted path (`Settings.lookup`). Numbers print
  plainly (30.0 -> 30, 50000 -> 50,000, 0.85 -> 0.85), lists as "a, b, c", booleans as yes/no.
- `health.active` at the start of a path means `health.models.<health.model>`, the model in force.
- `{{ path | pct }}`: a fraction as a percentage (0.85 -> 85%); `{{ path | money }}`: $50K, $1.5M.
- `{{ table: health.active }}` (or `health.models.<name>`): a markdown table of that health model's
  dimensions, weights, metric points and scoring curves, plus its per-segment weights if any.
- `{{ args.<name> }}` (prompts): the prompt argument, empty when not given.
An unknown setting, filter, helper or argument raises ContentError naming the file and placeholder.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

from cs_mcp.domain.metrics import METRICS
from cs_mcp.domain.metrics import label as metric_label

if TYPE_CHECKING:
    from cs_mcp.config import Settings

Kind = Literal["skill", "template", "prompt"]
COMPLETIONS = ("account", "segment", "csm")

_FOLDERS: dict[str, str] = {
    "skill": "resources/skills",
    "template": "resources/templates",
    "prompt": "prompts/playbooks",
}
_PLACEHOLDER = re.compile(r"\{\{\s*(.*?)\s*\}\}")
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)



class ContentError(ValueError):
    """A content file that cannot be loaded or rendered; the message names the file and the problem."""


@dataclass(frozen=True)
class PromptArgument:
    name: str
    description: str
    required: bool
    complete: str | None


@dataclass(frozen=True)
class Document:
    name: str
    kind: Kind
    title: str
    description: str
    body: str
    arguments: tuple[PromptArgument, ...] = ()
    tools: tuple[str, ...] = ()

    @property
    def file(self) -> str:
        return f"{_FOLDERS[self.kind]}/{self.name}.md"


@functools.cache
def catalogue(name: str) -> dict[str, Any]:
    """A prose catalogue (`resources/catalogues/<name>.yaml`): texts the answers are built from."""
    import yaml

    path = resources.files("cs_mcp").joinpath(f"resources/catalogues/{name}.yaml")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ContentError(f"resources/catalogues/{name}.yaml cannot be read: {exc}") from exc
    if not isinstance(data, dict):
        raise ContentError(f"resources/catalogues/{name}.yaml must hold a mapping")
    return data


def load_documents(kind: Kind) -> list[Document]:
    """Every document of one kind, sorted by name."""
    return list(_load(kind))


def get_document(kind: Kind, name: str) -> Document:
    """One document by name; the error lists the names there are."""
    for doc in _load(kind):
        if doc.name == name:
            return doc
    known = ", ".join(d.name for d in _load(kind))
    raise ContentError(f"no {kind} named {name!r}; known: {known}")


@functools.cache
def _load(kind: Kind) -> tuple[Document, ...]:
    if kind not in _FOLDERS:
        raise ContentError(f"unknown kind {kind!r}; one of {sorted(_FOLDERS)}")
    folder = resources.files("cs_mcp").joinpath(_FOLDERS[kind])
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".md")), key=lambda f: f.name)
    return tuple(_parse(kind, f.name[:-3], f.read_text(encoding="utf-8")) for f in files)


def _parse(kind: Kind, stem: str, text: str) -> Document:
    import yaml

    where = f"{_FOLDERS[kind]}/{stem}.md"
    match = _FRONT_MATTER.match(text)
    if not match:
        raise ContentError(f"{where}: starts without a '---' YAML front matter block")
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise ContentError(f"{where}: front matter is not valid YAML: {exc}") from exc
    missing = [k for k in ("name", "title", "description") if not meta.get(k)]
    if missing:
        raise ContentError(f"{where}: front matter lacks {', '.join(missing)}")
    if meta["name"] != stem:
        raise ContentError(f"{where}: front matter name {meta['name']!r} differs from the file name")
    arguments = []
    for raw in meta.get("arguments") or []:
        if not isinstance(raw, dict) or not raw.get("name"):
            raise ContentError(f"{where}: each argument needs a name, got {raw!r}")
        complete = raw.get("complete")
        if complete is not None and complete not in COMPLETIONS:
            raise ContentError(f"{where}: argument {raw['name']!r}: complete must be one of {COMPLETIONS}")
        description = str(raw.get("description", ""))
        arguments.append(PromptArgument(str(raw["name"]), description, bool(raw.get("required")), complete))
    tools = meta.get("tools") or []
    if not isinstance(tools, list) or not all(isinstance(t, str) for t in tools):
        raise ContentError(f"{where}: tools must be a list of tool names")
    return Document(
        name=stem,
        kind=kind,
        title=str(meta["title"]),
        description=str(meta["description"]).strip(),
        body=text[match.end() :].lstrip("\n"),
        arguments=tuple(arguments),
        tools=tuple(tools),
    )


def render(doc: Document, settings: Settings, args: dict[str, str] | None = None) -> str:
    """The body with every placeholder filled from `settings` and the prompt `args`."""
    declared = {a.name for a in doc.arguments}
    given = args or {}
    unknown_args = set(given) - declared
    if unknown_args:
        raise ContentError(f"{doc.file}: no argument {sorted(unknown_args)}; declared: {sorted(declared)}")

    def fill(match: re.Match[str]) -> str:
        expr = match.group(1)
        try:
            return _evaluate(expr, settings, given, declared)
        except (KeyError, ValueError, TypeError) as exc:
            reason = exc.args[0] if exc.args else exc
            raise ContentError(f"{doc.file}: cannot fill {{{{ {expr} }}}}: {reason}") from None

    return _PLACEHOLDER.sub(fill, doc.body)


def _evaluate(expr: str, settings: Settings, args: dict[str, str], declared: set[str]) -> str:
    if expr.startswith("table:"):
        return _health_table(settings, expr.removeprefix("table:").strip())
    path, _, filt = (part.strip() for part in expr.partition("|"))
    if path.startswith("args."):
        name = path.removeprefix("args.")
        if name not in declared:
            raise KeyError(f"the prompt declares no argument {name!r}")
        value: Any = args.get(name) or ""
    else:
        value = _setting(settings, path)
    if isinstance(value, dict):
        raise TypeError(f"{path!r} is a group of settings; name one of: {', '.join(value)}")
    if not filt:
        return _plain(value)
    if filt not in _FILTERS:
        raise KeyError(f"unknown filter {filt!r}; known: {', '.join(_FILTERS)}")
    return _FILTERS[filt](value)


def _setting(settings: Settings, path: str) -> Any:
    if path == "health.active" or path.startswith("health.active."):
        path = f"health.models.{settings.health.model}" + path.removeprefix("health.active")
    return settings.lookup(path)


def _number(x: float) -> str:
    if isinstance(x, float) and x.is_integer():
        x = int(x)
    if isinstance(x, int):
        return f"{x:,}"
    return f"{round(x, 4):,.4f}".rstrip("0").rstrip(".")


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, list):
        return ", ".join(_plain(v) for v in value)
    return "" if value is None else str(value)


def _pct(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"pct needs a number, got {value!r}")
    return _number(round(value * 100, 2)) + "%"


def _money(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"money needs a number, got {value!r}")
    for size, suffix in ((1_000_000, "M"), (1_000, "K")):
        if abs(value) >= size:
            return f"${_number(round(value / size, 2))}{suffix}"
    return f"${_number(value)}"


_FILTERS = {"pct": _pct, "money": _money}


def _health_table(settings: Settings, path: str) -> str:
    model = _setting(settings, path)
    if not isinstance(model, dict) or "dimensions" not in model:
        raise TypeError(f"table needs a health model (health.active or health.models.<name>), not {path!r}")
    curves = settings.lookup("health.curves")
    windows = settings.lookup("health.windows")
    total_weight = sum(d["weight"] for d in model["dimensions"].values()) or 1
    lines = [
        "| Dimension | Weight | Metric | Points | Of 100 | Curve (input: share of points earned) |",
        "|---|---|---|---|---|---|",
    ]
    for dim_name, dim in model["dimensions"].items():
        dim_points = sum(dim["metrics"].values()) or 1
        first = True
        for metric, points in dim["metrics"].items():
            share = 100 * dim["weight"] / total_weight * points / dim_points
            label, window = metric_label(metric), METRICS[metric].window if metric in METRICS else None
            if window in windows:
                label += f" ({windows[window]} days)"
            lines.append(
                f"| {dim_name.title() if first else ''} | {_number(dim['weight']) if first else ''} "
                f"| {label} | {_number(points)} | {_number(round(share, 1))} "
                f"| {_curve(curves[metric])} |"
            )
            first = False
    if model.get("segment_weights"):
        dims = list(model["dimensions"])
        lines += ["", "| Segment | " + " | ".join(d.title() for d in dims) + " |"]
        lines.append("|---" * (len(dims) + 1) + "|")
        for segment, weights in model["segment_weights"].items():
            cells = " | ".join(_number(weights.get(d, model["dimensions"][d]["weight"])) for d in dims)
            lines.append(f"| {segment} | {cells} |")
    return "\n".join(lines)


def _curve(breakpoints: list[list[float]]) -> str:
    parts = []
    for i, (x, fraction) in enumerate(breakpoints):
        edge = "≤" if i == 0 else "≥" if i == len(breakpoints) - 1 else ""
        parts.append(f"{edge}{_number(x)}: {_pct(fraction)}")
    return " · ".join(parts)
