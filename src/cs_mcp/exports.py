"""Exports: a list answer's rows as a CSV or XLSX file, kept for the client to read and save.

Pure: no MCP here. `cs_mcp.tools.exports` serves the files as `cs://exports/...` resources.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import secrets
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

Format = Literal["csv", "xlsx"]
MIME_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""A text cell starting with one of these is a formula to Excel, LibreOffice and Sheets (CSV injection)."""


@dataclass(frozen=True)
class ListShape:
    """Where a tool's answer keeps its paged list."""

    rows: str
    """dotted path to the rows, e.g. 'accounts' or 'followup.items'"""
    page: str = ""
    """dotted path to the Page with total / returned / next_cursor ('' = the answer itself)"""
    fallback: str | None = None
    """rows to export when the paged list is absent (customer-segments without segment_detail)"""
    needs: str | None = None
    """what to send when the list is absent and there is no fallback"""


LIST_SHAPES: dict[str, ListShape] = {
    "find-accounts": ListShape("accounts"),
    "churn-risk-list": ListShape("accounts"),
    "renewal-forecast": ListShape("accounts"),
    "expansion-opportunities": ListShape("candidates"),
    "customer-segments": ListShape("detail.accounts", page="detail", fallback="segments"),
    "nps-analysis": ListShape("followup.items", page="followup"),
    "escalation-analysis": ListShape("accounts"),
    "engagement-report": ListShape("portfolio.accounts", page="portfolio",
                                   needs="leave out account: the export is the portfolio ranking"),
    "csm-performance": ListShape("csms"),
    "retention-metrics": ListShape("groups", page="groups_page",
                                   needs="add by (segment, plan, csm, region, ...): the export is the groups"),
}


class ExportRefused(ValueError):
    """This answer has no list to export; the message says what to send instead."""


@dataclass(frozen=True)
class Table:
    columns: list[str]
    rows: list[list[Any]]


@dataclass(frozen=True)
class Export:
    export_id: str
    tool: str
    fmt: Format
    rows: int
    columns: int
    content: bytes
    created: dt.datetime
    path: Path | None = None

    @property
    def uri(self) -> str:
        return f"cs://exports/{self.export_id}"

    @property
    def mime_type(self) -> str:
        return MIME_TYPES[self.fmt]

    def text(self) -> str:
        return self.content.decode("utf-8")


# ---- the rows of an answer


def get_path(model: Any, path: str) -> Any:
    for part in [p for p in path.split(".") if p]:
        model = None if model is None else getattr(model, part)
    return model


def export_rows(tool: str, answer: BaseModel) -> list[BaseModel]:
    """Every row of the answer's list (the answer was computed with no page limit)."""
    shape = LIST_SHAPES[tool]
    rows = get_path(answer, shape.rows) if get_path(answer, shape.page) is not None else None
    if rows is None and shape.fallback:
        rows = get_path(answer, shape.fallback)
    if rows is None:
        raise ExportRefused(f"export: this {tool} answer has no list to export; {shape.needs or 'ask for a list'}.")
    return list(rows)


def preview(tool: str, answer: BaseModel, rows: int) -> BaseModel:
    """The answer cut to its first `rows` rows, with the cursor of the next page (as a normal first page)."""
    from cs_mcp.domain.paging import encode_cursor

    shape = LIST_SHAPES[tool]
    page = get_path(answer, shape.page)
    items = get_path(answer, shape.rows)
    if page is None or items is None:
        return answer
    shown = list(items)[:rows]
    nxt = encode_cursor(len(shown)) if len(shown) < page.total else None
    page_update = {"returned": len(shown), "next_cursor": nxt}
    rows_field = shape.rows.rsplit(".", 1)[-1]
    if shape.page and shape.rows.startswith(shape.page + "."):
        page = page.model_copy(update={**page_update, rows_field: shown})
        return _replace(answer, shape.page, page)
    if not shape.page:
        return answer.model_copy(update={**page_update, rows_field: shown})
    answer = _replace(answer, shape.page, page.model_copy(update=page_update))
    return _replace(answer, shape.rows, shown)


def _replace(model: BaseModel, path: str, value: Any) -> BaseModel:
    head, _, rest = path.partition(".")
    if not rest:
        return model.model_copy(update={head: value})
    return model.model_copy(update={head: _replace(getattr(model, head), rest, value)})


def row_model(tool: str, answer: BaseModel) -> type[BaseModel] | None:
    """The model of one row of the tool's list (its columns, also when the list is empty)."""
    import typing

    shape = LIST_SHAPES[tool]
    path = shape.rows if get_path(answer, shape.page) is not None else (shape.fallback or shape.rows)
    parent_path, _, field = path.rpartition(".")
    parent = get_path(answer, parent_path)
    if parent is None:
        return None
    args = typing.get_args(type(parent).model_fields[field].annotation)
    return next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), None)


def model_columns(model: type[BaseModel], prefix: str = "") -> list[str]:
    """The flat columns of a row model: nested models as 'a.b'."""
    import typing

    out = []
    for name, info in model.model_fields.items():
        nested = [a for a in (info.annotation, *typing.get_args(info.annotation))
                  if isinstance(a, type) and issubclass(a, BaseModel)]
        if nested and typing.get_origin(info.annotation) is not list:
            out += model_columns(nested[0], f"{prefix}{name}.")
        else:
            out.append(prefix + name)
    return out


def table(rows: Iterable[BaseModel], model: type[BaseModel] | None = None) -> Table:
    """Rows as a flat table: nested fields become 'a.b' columns, lists one cell (texts joined by '; ')."""
    flat = [_flatten(r.model_dump(mode="json")) for r in rows]
    columns: dict[str, None] = dict.fromkeys(model_columns(model)) if model is not None else {}
    for record in flat:
        columns.update(dict.fromkeys(record))
    filled = {c for record in flat for c in record}
    # a dict-typed field spreads into 'field.key' columns: its own empty column goes
    names = [c for c in columns if c in filled or not any(f.startswith(c + ".") for f in filled)]
    return Table(names, [[record.get(c) for c in names] for record in flat])


def _flatten(value: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, v in value.items():
        name = f"{prefix}{key}"
        if isinstance(v, dict):
            out.update(_flatten(v, name + "."))
        elif isinstance(v, list):
            out[name] = _join(v)
        else:
            out[name] = v
    return out


def _join(items: list[Any]) -> str | None:
    if not items:
        return None
    if all(isinstance(i, dict) and isinstance(i.get("text"), str) for i in items):  # drivers, flags in words
        from cs_mcp.domain.churn import lowers_risk_mark

        return "; ".join(lowers_risk_mark(str(i.get("direction"))) + i["text"] for i in items)
    if all(not isinstance(i, dict | list) for i in items):
        return "; ".join("" if i is None else str(i) for i in items)
    return json.dumps(items, ensure_ascii=False, separators=(",", ":"))


# ---- files


def safe_text(value: str) -> str:
    """A text cell that no spreadsheet runs as a formula: a leading = + - @ tab or CR gets a quote before it."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def to_csv(t: Table) -> bytes:
    """RFC 4180 CSV in UTF-8: fields with commas, quotes or line breaks quoted, quotes doubled."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_text(c) for c in t.columns])
    for row in t.rows:
        writer.writerow(["" if v is None else safe_text(v) if isinstance(v, str) else _number(v) for v in row])
    return out.getvalue().encode("utf-8")


def _number(v: Any) -> Any:
    return ("TRUE" if v else "FALSE") if isinstance(v, bool) else v


def to_xlsx(t: Table, sheet: str) -> bytes:
    """One sheet; every text is a text cell (never a formula or a link), numbers are numbers."""
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                     "strings_to_numbers": False})
    ws = book.add_worksheet(sheet[:31])
    bold = book.add_format({"bold": True})
    for col, name in enumerate(t.columns):
        ws.write_string(0, col, name, bold)
    for r, row in enumerate(t.rows, start=1):
        for col, v in enumerate(row):
            if v is None:
                continue
            if isinstance(v, bool):
                ws.write_boolean(r, col, v)
            elif isinstance(v, int | float):
                ws.write_number(r, col, v)
            else:
                ws.write_string(r, col, str(v))
    ws.freeze_panes(1, 0)
    if t.columns:
        ws.autofilter(0, 0, max(len(t.rows), 1), len(t.columns) - 1)
    book.close()
    return out.getvalue()


def encode(t: Table, fmt: Format, sheet: str) -> bytes:
    return to_csv(t) if fmt == "csv" else to_xlsx(t, sheet)


# ---- the exports a server keeps


class ExportStore:
    """The last `keep` exports, readable by id; older ones are dropped (and their resources with them)."""

    def __init__(self, keep: int, folder: Path | None = None):
        self.keep = keep
        self.folder = folder
        self._items: OrderedDict[str, Export] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, tool: str, fmt: Format, t: Table, now: dt.datetime | None = None) -> tuple[Export, list[Export]]:
        """Store a new export; return it and the exports it pushed out."""
        now = now or dt.datetime.now()
        export_id = f"{tool}-{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}.{fmt}"
        content = encode(t, fmt, tool)
        path = None
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self.folder / export_id
            path.write_bytes(content)
        item = Export(export_id, tool, fmt, len(t.rows), len(t.columns), content, now, path)
        with self._lock:
            self._items[export_id] = item
            dropped = []
            while len(self._items) > self.keep:
                dropped.append(self._items.popitem(last=False)[1])
        return item, dropped

    def get(self, export_id: str) -> Export | None:
        with self._lock:
            return self._items.get(export_id)

    def __iter__(self):
        with self._lock:
            return iter(list(self._items.values()))
