"""What loading a workspace found: rows read, loaded and rejected, and why (served as cs://data/quality)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field, computed_field


class Problem(BaseModel):
    """One bad value, row or table."""

    table: str
    file: str = Field(description="file name inside the workspace, or 'sql'")
    row: int | None = Field(
        None, description="1-based data row, header excluded; empty for a table-level problem"
    )
    key: str | None = Field(
        None, description="the row's key values (warehouse tables have no row numbers); empty for files"
    )
    column: str | None = Field(None, description="canonical column (or source column when unmapped)")
    value: str | None = Field(None, description="the offending value, truncated")
    reason: str
    rejected: bool = Field(
        description="the row was left out (with no row: the file was not used); "
        "otherwise the row was kept with a warning"
    )


class ProblemCount(BaseModel):
    column: str | None
    reason: str
    rejected: bool
    count: int


class CustomColumn(BaseModel):
    """An extra account column kept as a custom attribute."""

    name: str = Field(description="column name in the accounts table (snake_case)")
    source: str = Field(description="column name in the source file")
    type: Literal["DOUBLE", "VARCHAR"]


class TableQuality(BaseModel):
    table: str
    status: Literal["loaded", "unusable"]
    source: str = Field(description="file name(s) read, or 'sql'")
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    warnings: int = 0
    columns_mapped: dict[str, str] = Field(
        default_factory=dict, description="canonical column -> source column"
    )
    missing_optional_columns: list[str] = Field(default_factory=list)
    ignored_columns: list[str] = Field(default_factory=list, description="source columns not used")
    custom_columns: list[CustomColumn] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    problem_summary: list[ProblemCount] = Field(default_factory=list, description="all problems, grouped")
    problems: list[Problem] = Field(default_factory=list)
    problems_not_listed: int = Field(0, description="problems beyond data.max_reported_problems")
    read_in_place: bool = Field(
        False, description="Parquet read where it lies (the table is a view over the files), not copied"
    )


class DataQualityReport(BaseModel):
    path: str | None
    version: str
    as_of: dt.date
    as_of_rule: str = Field(description="how as_of was chosen")
    tables: list[TableQuality] = Field(default_factory=list)
    tables_absent: list[str] = Field(default_factory=list, description="canonical tables with no source")
    notes: list[str] = Field(default_factory=list)
    reload_problem: str | None = Field(
        None,
        description="why changed data files were not loaded: the server still answers from this version (the "
        "last good one) until the files are fixed",
    )

    @computed_field
    @property
    def tables_unusable(self) -> list[str]:
        return [t.table for t in self.tables if t.status == "unusable"]

    @computed_field
    @property
    def rows_read(self) -> int:
        return sum(t.rows_read for t in self.tables)

    @computed_field
    @property
    def rows_loaded(self) -> int:
        return sum(t.rows_loaded for t in self.tables)

    @computed_field
    @property
    def rows_rejected(self) -> int:
        return sum(t.rows_rejected for t in self.tables)

    @computed_field
    @property
    def warnings(self) -> int:
        return sum(t.warnings for t in self.tables)

    @computed_field
    @property
    def has_errors(self) -> bool:
        return self.rows_rejected > 0 or bool(self.tables_unusable)

    def table(self, name: str) -> TableQuality | None:
        return next((t for t in self.tables if t.table == name), None)

    def lost_tables(self, before: DataQualityReport) -> str | None:
        """What this load lost against `before`: tables that had rows and are now unusable or load none (a file
        truncated, emptied or cut mid-row). None when it can replace it; a table whose file was deleted is a
        change like any other."""
        problems = []
        for old in before.tables:
            new = self.table(old.table)
            if old.status != "loaded" or old.rows_loaded == 0 or new is None:
                continue
            if new.status == "unusable":
                reason = "; ".join(p.reason for p in new.problems[:1]) or "cannot be read"
                problems.append(f"{new.source} is unusable ({reason})")
            elif new.rows_loaded == 0:
                problems.append(f"{new.source} now loads no rows ({new.rows_read:,} read, "
                                f"{new.rows_rejected:,} rejected; {old.rows_loaded:,} loaded before)")
        return "; ".join(problems) or None

    def compact(self, problems_per_table: int = 10) -> DataQualityReport:
        """A copy listing at most `problems_per_table` problems per table (the rest are counted)."""
        tables = [
            t.model_copy(
                update={
                    "problems": t.problems[:problems_per_table],
                    "problems_not_listed": t.problems_not_listed
                    + max(len(t.problems) - problems_per_table, 0),
                }
            )
            for t in self.tables
        ]
        return self.model_copy(update={"tables": tables})

    def render_text(self, problems_per_table: int = 10) -> str:
        """A compact human-readable report (the output of `cs-mcp check`)."""
        verdict = "ERRORS" if self.has_errors else ("warnings" if self.warnings else "OK")
        lines = [
            f"Workspace {self.path or '(none)'}: {verdict}",
            f"version {self.version}, as of {self.as_of} ({self.as_of_rule})",
            f"rows: {self.rows_read:,} read, {self.rows_loaded:,} loaded, "
            f"{self.rows_rejected:,} rejected, {self.warnings:,} warnings",
            "",
        ]
        width = max([len(t.table) for t in self.tables] + [5])
        src_width = min(max([len(t.source) for t in self.tables] + [6]), 40)
        lines.append(
            f"{'table':<{width}}  {'source':<{src_width}}  {'read':>11}  {'loaded':>11}  "
            f"{'rejected':>9}  {'warnings':>9}"
        )
        for t in self.tables:
            src = t.source if len(t.source) <= src_width else t.source[: src_width - 1] + "…"
            if t.status == "unusable":
                lines.append(f"{t.table:<{width}}  {src:<{src_width}}  UNUSABLE")
                continue
            lines.append(
                f"{t.table:<{width}}  {src:<{src_width}}  {t.rows_read:>11,}  {t.rows_loaded:>11,}  "
                f"{t.rows_rejected:>9,}  {t.warnings:>9,}"
            )
        if self.tables_absent:
            lines.append(f"absent: {', '.join(self.tables_absent)}")
        lines.extend(f"note: {n}" for n in self.notes)
        for t in self.tables:
            detail = _table_detail(t, problems_per_table)
            if detail:
                lines += ["", t.table, *detail]
        return "\n".join(lines)


def _table_detail(t: TableQuality, limit: int) -> list[str]:
    out: list[str] = []
    if t.custom_columns:
        out.append(
            "  custom columns: "
            + ", ".join(
                f"{c.name} ({c.type}{'' if c.name == c.source else ', from ' + c.source})"
                for c in t.custom_columns
            )
        )
    if t.missing_optional_columns:
        out.append("  missing optional columns: " + ", ".join(t.missing_optional_columns))
    if t.ignored_columns:
        out.append("  ignored columns: " + ", ".join(t.ignored_columns))
    out.extend(f"  note: {n}" for n in t.notes)
    if t.problems_not_listed or len(t.problems) > limit:
        for s in t.problem_summary:
            action = "rejected" if s.rejected else "warned"
            out.append(f"  {s.count:,} x {s.column or '-'}: {s.reason} ({action})")
    for p in t.problems[:limit]:
        where = f"{p.file} row {p.row}" if p.row is not None else f"{p.file} key {p.key}" if p.key else p.file
        value = f" = {p.value!r}" if p.value is not None else ""
        action = "rejected" if p.rejected else "warned"
        out.append(f"  {where}, {p.column or '-'}{value}: {p.reason} ({action})")
    more = len(t.problems) - min(limit, len(t.problems)) + t.problems_not_listed
    if more:
        out.append(f"  ... {more:,} more problems (see cs://data/quality)")
    return out
