"""Open a workspace whose tables live in an engine (`data.url`): map, type and validate them there.

Each canonical table is read from `tables.<t>.table` (a table or view of the warehouse), from
`tables.<t>.sql` (a query in the warehouse's own dialect), or from a table of the canonical name in
`data.database_schema` (default: the connection's schema). Validation is set-based SQL run in the
engine, as the file loader does in DuckDB: rejected rows are reported by key and reason in the same
data-quality report, and queries then read temporary views holding only the valid rows. Nothing is
written to the warehouse's schemas: the views, and a small lookup table of `values:` mappings (so that
no mapped value is ever written into SQL text), are temporary objects of the session.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from cs_mcp.config import CONFIG_FILE_NAME, Settings, TableMapping
from cs_mcp.workspace.backends import Backend, connect, redact
from cs_mcp.workspace.engine import EARLIEST, FALSE_TOKENS, LATEST, NULL_TOKENS, TRUE_TOKENS, match_key, snake_case
from cs_mcp.workspace.quality import CustomColumn, DataQualityReport, Problem, ProblemCount, TableQuality
from cs_mcp.workspace.schema import SQL_TYPES, TABLES, Column, Table
from cs_mcp.workspace.sql import bind, compile_sql

if TYPE_CHECKING:
    from cs_mcp.workspace.loader import Progress, Workspace

SOURCE = "__cs_source__"
"""Placeholder for the source relation in the generated SQL, replaced by the quoted table or the user's query."""
VALUE_MAP = "cs_value_map"
_KINDS = ("integer", "float", "date", "timestamp", "boolean", "string")


def open_warehouse(settings: Settings, progress: Progress | None = None) -> Workspace:
    """Connect to `settings.data.url`, validate every mapped table in the engine, and serve the valid rows."""
    from cs_mcp.workspace.loader import ACTIVITY_DATES, Workspace, WorkspaceError

    say = progress or (lambda _f, _m: None)
    url = settings.data.url or ""
    say(0.0, f"connecting to {redact(url)}")
    backend = connect(url, memory_limit=settings.data.duckdb_memory_limit)
    try:
        notes = [
            f"tables.{name} in {CONFIG_FILE_NAME} is not a table; known tables: {', '.join(TABLES)}"
            for name in settings.data.tables if name not in TABLES
        ]
        backend.create_table(VALUE_MAP, [("tbl", "VARCHAR"), ("col", "VARCHAR"), ("source", "VARCHAR"),
                                         ("canonical", "VARCHAR")], _value_rows(settings))
        qualities: list[TableQuality] = []
        custom: list[CustomColumn] = []
        absent: list[str] = []
        for i, name in enumerate(TABLES):
            say(i / len(TABLES), f"validating {name}")
            mapping = settings.data.tables.get(name) or TableMapping()
            q = _TableValidator(backend, settings, TABLES[name], mapping).load()
            if q is None:
                absent.append(name)
                continue
            if name == "accounts" and q.status == "unusable":
                raise WorkspaceError("; ".join(p.reason for p in q.problems) or "accounts could not be read")
            qualities.append(q)
            if name == "accounts":
                custom = q.custom_columns
        if "accounts" in absent:
            raise WorkspaceError(
                f"No accounts table in {backend.label}: create one named accounts (cs-mcp load --from DIR "
                f"--url URL copies a workspace folder), or map it in {CONFIG_FILE_NAME}: "
                "tables.accounts.table: <schema.table> (or tables.accounts.sql: SELECT ...)"
            )
        loaded = frozenset(q.table for q in qualities if q.status == "loaded")
        as_of, rule, as_of_notes, _ = resolve_as_of(backend, settings.data.as_of, loaded, ACTIVITY_DATES)
    except BaseException:
        backend.close()
        raise
    quality = DataQualityReport(
        path=backend.label,
        version=_version(url, settings, qualities),
        as_of=as_of,
        as_of_rule=rule,
        tables=qualities,
        tables_absent=absent,
        notes=notes + as_of_notes,
    )
    say(1.0, f"warehouse ready: {len(loaded)} tables, {quality.rows_loaded:,} rows, "
             f"{quality.rows_rejected:,} rejected")
    return Workspace(path=None, settings=settings, tables=loaded, custom=custom, quality=quality, backend=backend)


def _value_rows(settings: Settings) -> list[tuple[str, str, str, str]]:
    return [
        (table, col, str(src).strip().lower(), canonical)
        for table, mapping in settings.data.tables.items()
        for col, values in mapping.values.items()
        for canonical, sources in values.items()
        for src in sources
    ]


def _version(url: str, settings: Settings, qualities: list[TableQuality]) -> str:
    h = hashlib.sha256(redact(url).encode())
    h.update(json.dumps({k: v.model_dump(mode="json") for k, v in sorted(settings.data.tables.items())},
                        sort_keys=True).encode())
    for q in qualities:
        h.update(f"{q.table}:{q.rows_read}:{q.rows_loaded}\n".encode())
    return h.hexdigest()[:12]


def source_kind(engine_type: str) -> str:
    """An engine's column type name as one of integer, float, date, timestamp, boolean, string."""
    t = engine_type.lower().split("(")[0].strip()
    if t in ("int", "int2", "int4", "int8", "integer", "bigint", "smallint", "tinyint", "hugeint", "ubigint",
             "uinteger", "usmallint", "utinyint", "long", "short", "byte"):
        return "integer"
    if t in ("float", "float4", "float8", "double", "double precision", "real", "numeric", "decimal"):
        return "float"
    if t == "date":
        return "date"
    if t.startswith("timestamp") or t == "datetime":
        return "timestamp"
    if t in ("bool", "boolean"):
        return "boolean"
    return "string"


class _Branch(NamedTuple):
    select: str
    """the problem rows of one check: key, column, value, kind, rejected"""
    count: str | None
    """the condition on a stage row (`s`, accounts joined as `cs_a`) that the check reports; None: always run"""


class _TableValidator:
    """Stages one table as a typed view, lists its problems in the engine, then publishes the valid rows."""

    def __init__(self, backend: Backend, settings: Settings, table: Table, mapping: TableMapping) -> None:
        self.backend, self.settings, self.table, self.mapping = backend, settings, table, mapping
        self.t = table.name
        self.limit = settings.data.max_reported_problems
        self.notes: list[str] = []
        self.stage = f"cs_stage_{self.t}"

    def load(self) -> TableQuality | None:
        relation, label = self._source()
        if relation is None:
            self._publish_empty()
            return None
        try:
            described = self.backend.describe(f"{relation} AS cs_d")
        except Exception as exc:  # engines raise their own error types for a missing table or bad SQL
            self._publish_empty()
            return self._unusable(label, f"cannot read {label}: {_first_line(exc)}")
        source_types = dict(described)
        mapped = self._map_columns(label, list(source_types))
        missing = [c for c in self.table.required if c not in mapped]
        if missing:
            self._publish_empty()
            return self._unusable(label, f"required column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                                         f"missing in {label} (columns: {', '.join(source_types)}); map them with "
                                         f"tables.{self.t}.columns.{missing[0]}: <column>")
        extras = [s for s in source_types if s not in mapped.values()]
        custom = self._custom_columns(relation, extras, source_types) if self.table.extra_columns_kept else []
        ignored = [] if self.table.extra_columns_kept else extras
        self._create_stage(relation, mapped, source_types, custom)
        self._publish_checked(mapped, custom)
        return self._quality(label, mapped, custom, ignored)

    def _publish_checked(self, mapped: dict[str, str], custom: list[CustomColumn]) -> None:
        """Publish the valid rows, each key once. Where the engine builds unique indexes (PostgreSQL), the
        published table's unique index on the key is the check, and duplicates, if it finds any, are ranked
        and published again; elsewhere one aggregate decides first."""
        from cs_mcp.workspace.backends import DuplicateKeys

        key = self._key()
        if key and self.backend.checks_unique_keys:
            self.duplicates = False
            try:
                self._publish(mapped, custom, unique=key)
                return
            except DuplicateKeys:
                self.duplicates = True
        else:
            self.duplicates = self._has_duplicates()
        self._publish(mapped, custom)

    # ---- source and mapping

    def _source(self) -> tuple[str | None, str]:
        m = self.mapping
        if m.sql:
            return f"({m.sql.strip().rstrip(';')})", "sql"
        if m.table:
            return self.backend.qualify(m.table), m.table
        if m.file:
            self.notes.append(f"tables.{self.t}.file applies to workspace folders; use table: or sql: here")
        return self.backend.relation(self.t, self.settings.data.database_schema), self.t

    def _map_columns(self, label: str, source_cols: list[str]) -> dict[str, str]:
        """canonical -> source column: explicit `columns:` first, else the same name up to case and punctuation."""
        explicit = self.mapping.columns
        keyed: dict[str, str] = {}
        for s in source_cols:
            keyed.setdefault(match_key(s), s)
        reserved = {keyed.get(match_key(v), v) for v in explicit.values()}
        mapped: dict[str, str] = {}
        for c in self.table.columns:
            if c.name in explicit:
                src = keyed.get(match_key(explicit[c.name]))
                if src is None:
                    self.notes.append(f"tables.{self.t}.columns maps {c.name} to {explicit[c.name]!r}, which is not "
                                      f"a column of {label}")
                    continue
            else:
                src = keyed.get(match_key(c.name))
                if src is None or src in reserved or src in mapped.values():
                    continue
            mapped[c.name] = src
        return mapped

    def _custom_columns(self, relation: str, extras: list[str], types: dict[str, str]) -> list[CustomColumn]:
        taken = set(self.table.column_names)
        names: list[tuple[str, str]] = []
        for src in extras:
            base = snake_case(src)
            name, n = base, 2
            while name in taken:
                name, n = f"{base}_{n}", n + 1
            taken.add(name)
            names.append((name, src))
        text_cols = [(n, s) for n, s in names if source_kind(types[s]) not in ("integer", "float")]
        numeric: dict[str, bool] = {n: source_kind(types[s]) in ("integer", "float") for n, s in names}
        if text_cols:
            counts = self._run_rows(
                "SELECT " + ", ".join(
                    f"COUNT({_text(_src(s))}), COUNT(TRY_CAST({_text(_src(s))} AS DOUBLE))" for _, s in text_cols
                ) + f" FROM {SOURCE} AS s", relation)[0]
            for j, (n, _) in enumerate(text_cols):
                numeric[n] = counts[2 * j] > 0 and counts[2 * j] == counts[2 * j + 1]
        return [CustomColumn(name=n, source=s, type="DOUBLE" if numeric[n] else "VARCHAR") for n, s in names]

    # ---- SQL

    def _typed(self, c: Column, src: str, source_type: str) -> tuple[str, str | None]:
        """(typed expression, raw text kept for reporting, or None when the value cannot fail to parse)."""
        kind = source_kind(source_type)
        col = _src(src)
        values = self.mapping.values.get(c.name)
        if c.type == "string":
            text = _mapped(_text(col), self.t, c.name) if values else _text(col)
            return (_categorical(text, c.allowed) if c.allowed else text), None
        target = SQL_TYPES[c.type]
        if not values and (kind == c.type or (c.type == "float" and kind == "integer")
                           or (c.type in ("date", "timestamp") and kind in ("date", "timestamp"))):
            return f"CAST({col} AS {target})", None
        raw = _mapped(_text(col), self.t, c.name) if values else _text(col)
        if c.type == "boolean":
            low = f"lower({raw})"
            trues, falses = ", ".join(f"'{t}'" for t in TRUE_TOKENS), ", ".join(f"'{f}'" for f in FALSE_TOKENS)
            return f"(CASE WHEN {low} IN ({trues}) THEN TRUE WHEN {low} IN ({falses}) THEN FALSE END)", raw
        if c.type == "integer":
            d = f"TRY_CAST({raw} AS DOUBLE)"
            return f"(CASE WHEN abs({d}) < 9e15 AND {d} = floor({d}) THEN CAST({d} AS BIGINT) END)", raw
        return f"TRY_CAST({raw} AS {target})", raw

    def _create_stage(self, relation: str, mapped: dict[str, str], types: dict[str, str],
                      custom: list[CustomColumn]) -> None:
        exprs = []
        self.raw_kept: set[str] = set()
        for i, c in enumerate(self.table.columns):
            src = mapped.get(c.name)
            if src is None:
                exprs.append(f"CAST(NULL AS {SQL_TYPES[c.type]}) AS p{i}")
                exprs.append(f"CAST(NULL AS VARCHAR) AS r{i}")
                continue
            typed, raw = self._typed(c, src, types[src])
            exprs.append(f"{typed} AS p{i}")
            exprs.append(f"{raw or 'CAST(NULL AS VARCHAR)'} AS r{i}")
            if raw is not None:
                self.raw_kept.add(c.name)
        for cc in custom:
            value = _text(_src(cc.source))
            exprs.append(f"{'TRY_CAST(' + value + ' AS DOUBLE)' if cc.type == 'DOUBLE' else value} AS "
                         f"{_ident('x_' + cc.name)}")
        self._view(self.stage, f"SELECT {', '.join(exprs)} FROM {SOURCE} AS s", relation, materialize=True)
        self.present = set(mapped)

    def _p(self, name: str) -> str:
        return f"p{self.table.column_names.index(name)}"

    def _rejected(self) -> str:
        """Condition true for a row that cannot be served (before duplicate keys)."""
        conds = []
        for c in self.table.columns:
            if c.required:
                conds.append(f"{self._p(c.name)} IS NULL")
                bad = _out_of_range(self._p(c.name), c)
                if bad:
                    conds.append(bad)
        if self.table.account_child:
            # NOT EXISTS, not NOT IN: engines plan NOT IN as a null-aware anti join (Spark: a nested loop)
            conds.append(f"NOT EXISTS (SELECT 1 FROM accounts cs_a WHERE cs_a.account_id = {self._p('account_id')})")
        return " OR ".join(f"({c})" for c in conds) or "FALSE"

    def _key(self) -> list[str]:
        return [k for k in self.table.key if k in self.present] if all(
            k in self.present for k in self.table.key) else []

    def _key_known(self) -> str:
        """Condition true for a row whose key is complete: a row without (an optional) key is nobody's duplicate."""
        return " AND ".join(f"{self._p(k)} IS NOT NULL" for k in self._key())

    def _has_duplicates(self) -> bool:
        """Whether two rows to serve share a key: one aggregate, so the usual table without duplicates is published
        and checked without ranking (a sort of every row by key and value)."""
        key = self._key()
        if not key:
            return False
        part = ", ".join(self._p(k) for k in key)
        found = self._run_rows(f"SELECT COUNT(*) FROM (SELECT {part} FROM {self.stage} s WHERE {self._key_known()} "
                               f"AND NOT ({self._rejected()}) GROUP BY {part} HAVING COUNT(*) > 1) d")
        return int(found[0][0]) > 0

    def _ranked(self) -> str:
        key = self._key()
        if not key or not self.duplicates:
            return f"SELECT s.*, 1 AS cs_rn FROM {self.stage} s WHERE NOT ({self._rejected()})"
        part = ", ".join(self._p(k) for k in key)
        order = ", ".join(f"p{i}" for i in range(len(self.table.columns)))
        return (f"SELECT s.*, CASE WHEN {self._key_known()} THEN ROW_NUMBER() OVER (PARTITION BY {part} "
                f"ORDER BY {order}) ELSE 1 END AS cs_rn FROM {self.stage} s WHERE NOT ({self._rejected()})")

    def _publish(self, mapped: dict[str, str], custom: list[CustomColumn], unique: Sequence[str] = ()) -> None:
        exprs = []
        for i, c in enumerate(self.table.columns):
            p = f"p{i}"
            if self.t == "accounts" and c.name == "status" and c.name not in mapped:
                churned = self._p("churned_on")
                exprs.append(f"CASE WHEN {churned} IS NOT NULL THEN 'churned' ELSE 'active' END AS status")
                self.notes.append(
                    "no status column: status derived from churned_on (churned when set, else active)"
                    if "churned_on" in mapped else
                    "no status or churned_on column: every account counts as active (no churn outcomes)")
                continue
            bad = _out_of_range(p, c)
            if bad and not c.required:
                p = f"CASE WHEN {bad} THEN NULL ELSE {p} END"
            exprs.append(f"CAST({p} AS {SQL_TYPES[c.type]}) AS {_ident(c.name)}")
        exprs += [_ident("x_" + cc.name) + " AS " + _ident(cc.name) for cc in custom]
        self._view(self.t, f"SELECT {', '.join(exprs)} FROM ({self._ranked()}) v WHERE cs_rn = 1", materialize=True,
                   index="account_id" if "account_id" in self.table.column_names else None, unique=unique)

    def _publish_empty(self) -> None:
        cols = ", ".join(f"CAST(NULL AS {SQL_TYPES[c.type]}) AS {_ident(c.name)}" for c in self.table.columns)
        self._view(self.t, f"SELECT {cols} WHERE 1 = 0")

    def _problem_branches(self) -> list[_Branch]:
        """One branch per kind of problem: its rows' select, and the condition on a stage row that raises it
        (None: no stage-row condition, the branch always runs)."""
        key = self._key() or [next(k for k in ("account_id", *self.table.column_names) if k in self.present)]
        shown = " || ', ' || ".join(f"COALESCE(CAST({self._p(k)} AS VARCHAR), r{self.table.column_names.index(k)}, '')"
                                    for k in key)
        branches: list[_Branch] = []

        def add(col: str, val: str, kind: str, rejected: str, where: str, source: str | None = None,
                count: str | None = "") -> None:
            text = (f"SELECT {shown} AS k, {col} AS col, CAST({val} AS VARCHAR) AS val, {kind} AS kind, "
                    f"{rejected} AS rej FROM {source or self.stage} WHERE {where}")
            branches.append(_Branch(text, where if count == "" else count))

        for i, c in enumerate(self.table.columns):
            if c.name not in self.present:
                continue
            p, r, col, req = f"p{i}", f"r{i}", f"'{c.name}'", "TRUE" if c.required else "FALSE"
            null_token = f"lower({r}) IN ({', '.join(repr(t) for t in NULL_TOKENS)})"
            if c.name in self.raw_kept:
                add(col, r, "'unparseable'", req, f"{r} IS NOT NULL AND {p} IS NULL AND NOT {null_token}")
            if c.required:
                blank = f"({r} IS NULL OR {null_token})" if c.name in self.raw_kept else "TRUE"
                add(col, r if c.name in self.raw_kept else "NULL", "'missing'", "TRUE", f"{p} IS NULL AND {blank}")
            bad = _out_of_range(p, c)
            if bad:
                kind = ("'date_range'" if c.type in ("date", "timestamp") else
                        f"CASE WHEN {p} < {c.min_value!r} THEN 'below_min' ELSE 'above_max' END"
                        if c.min_value is not None else "'above_max'")
                add(col, f"COALESCE({r}, CAST({p} AS VARCHAR))", kind, req, f"{p} IS NOT NULL AND {bad}")
            if c.allowed:
                allowed = ", ".join(f"'{a}'" for a in c.allowed)
                add(col, p, "'unknown_value'", "FALSE", f"{p} IS NOT NULL AND {p} NOT IN ({allowed})")
        if self.table.account_child:
            a = self._p("account_id")
            add("'account_id'", a, f"CASE WHEN EXISTS (SELECT 1 FROM cs_stage_accounts cs_r WHERE cs_r.p0 = {a}) "
                "THEN 'rejected_account' ELSE 'unknown_account' END", "TRUE",
                f"{a} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM accounts cs_a WHERE cs_a.account_id = {a})",
                count=f"{a} IS NOT NULL AND cs_a.account_id IS NULL")  # the count's join to accounts
        if self._key() and self.duplicates:
            add(f"'{', '.join(self._key())}'", shown, "'duplicate'", "TRUE", "cs_rn > 1",
                source=f"({self._ranked()}) d", count=None)
        return branches

    def _counted(self, branches: list[_Branch]) -> tuple[int, list[_Branch]]:
        """(rows read, the branches with a row to report): one pass over the stage counts every condition, so a
        clean table is not scanned once per check."""
        counted = [i for i, b in enumerate(branches) if b.count is not None]
        counts = "".join(f", COUNT(CASE WHEN {branches[i].count} THEN 1 END)" for i in counted)
        join = (f" LEFT JOIN accounts cs_a ON cs_a.account_id = s.{self._p('account_id')}"
                if self.table.account_child else "")
        row = self._run_rows(f"SELECT COUNT(*){counts} FROM {self.stage} s{join}")[0]
        found = {i for i, n in zip(counted, row[1:], strict=True) if n}
        return int(row[0]), [b for i, b in enumerate(branches) if b.count is None or i in found]

    @staticmethod
    def _problems_sql(branches: list[_Branch]) -> str:
        return " UNION ALL ".join(b.select for b in branches) if branches else (
            "SELECT CAST(NULL AS VARCHAR) AS k, CAST(NULL AS VARCHAR) AS col, CAST(NULL AS VARCHAR) AS val, "
            "CAST(NULL AS VARCHAR) AS kind, FALSE AS rej WHERE 1 = 0")

    # ---- report

    def _quality(self, label: str, mapped: dict[str, str], custom: list[CustomColumn],
                 ignored: list[str]) -> TableQuality:
        from cs_mcp.workspace.loader import _TableLoader

        read, live = self._counted(self._problem_branches())
        loaded = int(self._run_rows(f"SELECT COUNT(*) FROM {_ident(self.t)}")[0][0])
        summary_rows: list[tuple] = []
        listed: list[tuple] = []
        if live:
            # the problem rows, kept for the two reads below (Spark caches them)
            self._view(f"cs_problems_{self.t}", self._problems_sql(live), materialize=True)
            problems_sql = f"SELECT * FROM cs_problems_{self.t}"
            summary_rows = self._run_rows(
                f"SELECT col, kind, rej, COUNT(*) AS n FROM ({problems_sql}) pr GROUP BY col, kind, rej "
                "ORDER BY n DESC, col, kind")
            listed = self._run_rows(
                f"SELECT k, col, val, kind, rej FROM ({problems_sql}) pr ORDER BY k, col, kind LIMIT $n",
                n=self.limit)
        reason = _TableLoader._reason.__get__(self)  # the file loader's wording, for the same report
        summary = [ProblemCount(column=col, reason=reason(kind, col), rejected=bool(rej), count=int(n))
                   for col, kind, rej, n in summary_rows]
        problems = [
            Problem(table=self.t, file=label, key=k, column=col, value=_truncate(val), reason=reason(kind, col),
                    rejected=bool(rej))
            for k, col, val, kind, rej in listed
        ]
        total = sum(s.count for s in summary)
        warnings = sum(s.count for s in summary if not s.rejected)
        return TableQuality(
            table=self.t, status="loaded", source=label, rows_read=read, rows_loaded=loaded,
            rows_rejected=read - loaded, warnings=warnings,
            columns_mapped={c: mapped[c] for c in self.table.column_names if c in mapped},
            missing_optional_columns=[c.name for c in self.table.columns if c.name not in mapped and not c.required
                                      and not (self.t == "accounts" and c.name == "status"
                                               and "churned_on" in mapped)],
            ignored_columns=ignored, custom_columns=custom, notes=self.notes, problem_summary=summary,
            problems=problems, problems_not_listed=max(total - len(problems), 0),
        )

    def _unusable(self, label: str, reason: str) -> TableQuality:
        return TableQuality(
            table=self.t, status="unusable", source=label, notes=self.notes,
            problem_summary=[ProblemCount(column=None, reason=reason, rejected=True, count=1)],
            problems=[Problem(table=self.t, file=label, reason=reason, rejected=True)],
        )

    # ---- running

    def _native(self, text: str, relation: str | None = None) -> str:
        native = compile_sql(text, self.backend.dialect)
        return native.replace(SOURCE, relation) if relation is not None else native

    def _view(self, name: str, text: str, relation: str | None = None, materialize: bool = False,
              index: str | None = None, unique: Sequence[str] = ()) -> None:
        self.backend.create_view(name, self._native(text, relation), materialize, index, unique)

    def _run_rows(self, text: str, relation: str | None = None, **params: Any) -> list[tuple]:
        return self.backend.rows(self._native(text, relation), bind(params))[1]


# ---------------------------------------------------------------------------------------- SQL pieces


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _src(name: str) -> str:
    return "s." + _ident(name)


def _text(expr: str) -> str:
    return f"NULLIF(TRIM(CAST({expr} AS VARCHAR)), '')"


def _mapped(text: str, table: str, column: str) -> str:
    """Apply `values:` through the session's lookup table: mapped values are bound, never written in SQL."""
    return (f"COALESCE((SELECT MAX(m.canonical) FROM {VALUE_MAP} m WHERE m.tbl = '{table}' AND m.col = '{column}' "
            f"AND m.source = lower({text})), {text})")


def _categorical(text: str, allowed: tuple[str, ...]) -> str:
    lowered = f"lower({text})"
    fuzzy = " ".join(f"WHEN '{match_key(a)}' THEN '{a}'" for a in allowed)
    listed = ", ".join(f"'{a}'" for a in allowed)
    return (f"(CASE WHEN {lowered} IN ({listed}) THEN {lowered} "
            f"ELSE COALESCE(CASE regexp_replace({lowered}, '[^a-z0-9]', '', 'g') {fuzzy} END, {lowered}) END)")


def _out_of_range(expr: str, c: Column) -> str | None:
    if c.type in ("date", "timestamp"):
        target = SQL_TYPES[c.type]
        return (f"({expr} < CAST('{EARLIEST}' AS {target}) OR {expr} > CAST('{LATEST}' AS {target}))")
    conds = []
    if c.min_value is not None:
        conds.append(f"{expr} < {c.min_value!r}")
    if c.max_value is not None:
        conds.append(f"{expr} > {c.max_value!r}")
    return "(" + " OR ".join(conds) + ")" if conds else None


class AsOf(NamedTuple):
    """The analysis date, the rule that chose it, notes, and the newest date of each activity column
    ("table.column" -> date or None), which a stored database keeps to choose again without a query."""

    date: dt.date
    rule: str
    notes: list[str]
    newest: dict[str, dt.date | None]


def resolve_as_of(backend: Backend, setting: object, loaded: frozenset[str],
                  activity: tuple[tuple[str, str], ...], newest: dict[str, dt.date | None] | None = None) -> AsOf:
    """The analysis date: fixed, today, or the newest activity date not after today. `newest` (what an
    earlier call found) answers for a column without a query while its newest date is not after today."""
    today = dt.date.today()
    if isinstance(setting, dt.date):
        return AsOf(setting, "fixed in the configuration (data.as_of)", [], {})
    if setting == "today":
        return AsOf(today, "today (data.as_of: today)", [], {})
    best: tuple[dt.date, str] | None = None
    future_best: tuple[dt.date, str] | None = None
    notes = []
    found: dict[str, dt.date | None] = {}
    for table, col in activity:
        if table not in loaded:
            continue
        name = f"{table}.{col}"
        known = (newest or {}).get(name, today + dt.timedelta(days=1))
        if known is None or known <= today:
            past, future, n_future = known, known, 0
        else:
            d = f"CAST({_ident(col)} AS DATE)"
            text = (f"SELECT MAX({d}) FILTER (WHERE {d} <= $today), MAX({d}), "
                    f"COUNT(*) FILTER (WHERE {d} > $today) FROM {_ident(table)}")
            past, future, n_future = backend.rows(compile_sql(text, backend.dialect), {"today": today})[1][0]
            past, future = _as_date(past), _as_date(future)
        found[name] = future
        if past is not None and (best is None or past > best[0]):
            best = (past, name)
        if future is not None and (future_best is None or future > future_best[0]):
            future_best = (future, name)
        if n_future:
            notes.append(f"{n_future:,} {table} rows have {col} after today; not used to choose as_of")
    best = best or future_best
    if best is None:
        return AsOf(today, "today (no activity dates in the data)", notes, found)
    return AsOf(best[0], f"latest activity date in the data ({best[1]})", notes, found)


def _as_date(value: Any) -> dt.date | None:
    if value is None:
        return None
    return value.date() if isinstance(value, dt.datetime) else value


def _truncate(value: object, n: int = 80) -> str | None:
    if value is None:
        return None
    s = str(value)
    return s if len(s) <= n else s[: n - 1] + "…"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
