"""Open a workspace: read each canonical table into DuckDB, map, type and validate it, report what was found.

Every table is staged once (source text kept next to the typed value only where parsing can fail),
checked with set-based SQL that records problems by stage row id, and materialized without the
rejected rows. Nothing loops over rows in Python.
"""

from __future__ import annotations

import bisect
import datetime as dt
import difflib
import glob
import hashlib
import itertools
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cs_mcp.config import CONFIG_FILE_NAME, Settings, TableMapping
from cs_mcp.domain.errors import CSError
from cs_mcp.workspace import engine as sql
from cs_mcp.workspace import store
from cs_mcp.workspace.quality import CustomColumn, DataQualityReport, Problem, ProblemCount, TableQuality
from cs_mcp.workspace.schema import FILE_SUFFIXES, TABLES, Column, Table, query_schema
from cs_mcp.workspace.sql import QueryMethods

if TYPE_CHECKING:
    import duckdb

    from cs_mcp.workspace.backends import Backend
    from cs_mcp.workspace.warehouse import AsOf

Progress = Callable[[float, str], None]
log = logging.getLogger("cs_mcp")

ACTIVITY_DATES = (
    ("usage", "date"),
    ("touchpoints", "date"),
    ("tickets", "opened_at"),
    ("nps", "responded_at"),
    ("feature_usage", "date"),
    ("invoices", "paid_on"),
)
"""Columns whose newest value is the data's 'latest' date (invoices: payments, not future due dates)."""

_DATE_HINTS = (
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%d.%m.%Y",
    "%Y/%m/%d",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%m/%d/%y",
    "%d/%m/%y",
    "%Y%m%d",
    "%d %b %Y",
    "%b %d, %Y",
    "%d-%b-%Y",
    "%d-%b-%y",
)
_STAGE = "_cs_stage"
_PROBLEMS = "_cs_problems"
_ACCOUNT_IDS = "_cs_account_ids"
MAX_KEY_RUNS = 1000
"""Key-ordered runs the duplicate check merges without aggregating (more: the data is not in key order)."""


class WorkspaceError(ValueError):
    """A workspace that cannot be served at all; the message says what to fix."""


class NotOnThisEngine(WorkspaceError, CSError):
    """Raw DuckDB access (copying a folder's tables out, tests) asked of a warehouse (shown as-is)."""


class Workspace(QueryMethods):
    """A loaded workspace: every canonical table, typed and validated, on one engine (embedded DuckDB by default).

    Readers run queries through `columns` / `rows` / `records` / `scalar` (`cs_mcp.workspace.sql`), which
    work on every engine; `cursor()` is the raw DuckDB cursor that `cs-mcp load` copies a folder's tables with.
    """

    def __init__(
        self,
        *,
        path: Path | None,
        settings: Settings,
        con: duckdb.DuckDBPyConnection | None = None,
        tables: frozenset[str],
        custom: list[CustomColumn],
        quality: DataQualityReport,
        backend: Backend | None = None,
    ) -> None:
        self.path = path
        self.settings = settings
        self.tables = tables
        self.custom_columns = [c.name for c in custom]
        self.custom_column_types = {c.name: c.type for c in custom}
        self.custom_column_sources = {c.name: c.source for c in custom}
        self.quality = quality
        self.version = quality.version
        self.as_of = quality.as_of
        if backend is None:
            from cs_mcp.workspace.backends.duckdb import DuckDBBackend

            backend = DuckDBBackend(con, label=str(path))
        self.backend = backend
        self.query_schema = query_schema(self.custom_column_types)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new DuckDB cursor on the shared connection, for use from the calling thread."""
        cursor = getattr(self.backend, "cursor", None)
        if cursor is None:
            raise NotOnThisEngine(
                f"This cannot run on {self.backend.dialect} ({self.backend.label}): it reads DuckDB directly. "
                "Use a workspace folder or a duckdb:/// database for it "
                "(cs-mcp load copies a folder into the warehouse; cs-mcp serve --data DIR serves the folder)."
            )
        return cursor()

    def close(self) -> None:
        self.backend.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Workspace({self.path}, tables={sorted(self.tables)}, version={self.version})"


def demo_path() -> Path:
    import cs_mcp.demo

    return Path(cs_mcp.demo.__file__).parent / "workspace"


def workspace_root(settings: Settings) -> Path:
    path = settings.data.path
    return Path(path).expanduser().resolve() if path is not None else demo_path()


def open_workspace(settings: Settings, progress: Progress | None = None) -> Workspace:
    """Open the workspace of `settings.data`: a folder loaded into DuckDB, or a warehouse by `data.url`."""
    from cs_mcp.workspace.backends import parse_url

    target = parse_url(settings.data.url)
    if target.kind != "folder":
        from cs_mcp.workspace.warehouse import open_warehouse

        return open_warehouse(settings, progress)
    if target.path is not None:
        settings = settings.model_copy(update={"data": settings.data.model_copy(update={"path": target.path})})
    return _open_folder(settings, progress)


def _open_folder(settings: Settings, progress: Progress | None = None) -> Workspace:
    """Load a workspace folder into DuckDB; bad rows are reported, never raised."""
    root = workspace_root(settings)
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        raise WorkspaceError(
            f"Workspace folder {root} {what}. Pass --data with a folder of CSV/Parquet files "
            f"(accounts.csv at least), or create one with `cs-mcp demo --out DIR`."
        )
    report = _progress_reporter(progress)
    mappings = settings.data.tables
    notes = [
        f"tables.{name} in {CONFIG_FILE_NAME} is not a table; known tables: {', '.join(TABLES)}"
        for name in mappings
        if name not in TABLES
    ]
    sources: dict[str, _Source] = {}
    table_notes: dict[str, list[str]] = {}
    for name in TABLES:
        src = _resolve_source(root, name, mappings.get(name) or TableMapping())
        if src is not None:
            sources[name] = src
            table_notes[name] = list(src.notes)
    if "accounts" not in sources:
        raise WorkspaceError(_no_accounts_message(root))
    if sources["accounts"].error:
        raise WorkspaceError(sources["accounts"].error)
    notes += _unused_files_note(root, sources, mappings)

    version = workspace_version(settings, [f for s in sources.values() for f in s.files])
    stored = _reopen_stored(root, settings, version, report)
    if stored is not None:
        return stored
    db = store.database_file(settings, root, version) if settings.data.duckdb_on_disk else None
    building = store.building_file(db) if db is not None else None
    if building is not None:
        building.parent.mkdir(parents=True, exist_ok=True)
        building.unlink(missing_ok=True)
    con = sql.connect(root, building)
    store.configure(con, settings)
    try:
        con.execute(
            f"CREATE TABLE {_PROBLEMS} (tbl VARCHAR, rid BIGINT, col VARCHAR, val VARCHAR, "
            "kind VARCHAR, rejected BOOLEAN, ref BIGINT)"
        )
        weights = {name: max(src.size, 1 << 20) for name, src in sources.items()}
        total, done = float(sum(weights.values())), 0.0
        qualities: list[TableQuality] = []
        custom: list[CustomColumn] = []
        for name in TABLES:
            if name not in sources:
                _create_empty(con, TABLES[name])
                continue
            q = _TableLoader(
                con,
                root,
                settings,
                TABLES[name],
                sources[name],
                lambda f, m, d=done, w=weights[name]: report((d + f * w) / total, m),
            ).load()
            if name == "accounts" and q.status == "unusable":
                raise WorkspaceError("; ".join(p.reason for p in q.problems) or "accounts could not be read")
            q.notes[:0] = table_notes[name]
            qualities.append(q)
            if name == "accounts":
                custom = q.custom_columns
            done += weights[name]
        loaded = frozenset(q.table for q in qualities if q.status == "loaded")
        as_of, rule, as_of_notes, newest = _resolve_as_of(con, settings.data.as_of, loaded)
        con.execute(f"DROP TABLE {_PROBLEMS}")
        con.execute(f"DROP TABLE IF EXISTS {_ACCOUNT_IDS}")
    except BaseException:
        con.close()
        if building is not None:
            building.unlink(missing_ok=True)
        raise
    quality = DataQualityReport(
        path=str(root),
        version=version,
        as_of=as_of,
        as_of_rule=rule,
        tables=qualities,
        tables_absent=[n for n in TABLES if n not in sources],
        notes=notes + as_of_notes,
    )
    if db is not None:
        # as_of is chosen again at each start (data.as_of: today moves): keep the notes without it
        store.save_report(con, quality.model_copy(update={"notes": notes}), newest)
        con = store.publish(con, building, db, settings)
    report(
        1.0,
        f"workspace ready: {len(loaded)} tables, {quality.rows_loaded:,} rows, "
        f"{quality.rows_rejected:,} rejected",
    )
    return Workspace(path=root, settings=settings, con=con, tables=loaded, custom=custom, quality=quality)


def _reopen_stored(root: Path, settings: Settings, version: str, report: Progress) -> Workspace | None:
    """The workspace from its stored database when this version was loaded before (None: load it)."""
    if not settings.data.duckdb_on_disk:
        return None
    path = store.database_file(settings, root, version)
    if not path.is_file():
        return None
    report(0.1, f"opening the stored database of version {version}")
    try:
        con = store.reopen(path, settings)
    except Exception:  # a damaged or locked file only costs a fresh load
        log.info("cannot reopen %s; loading the workspace again", path, exc_info=True)
        return None
    stored = store.stored_report(con)
    if stored is None:
        con.close()
        return None
    quality, newest = stored
    loaded = frozenset(t.table for t in quality.tables if t.status == "loaded")
    as_of, rule, as_of_notes, _ = _resolve_as_of(con, settings.data.as_of, loaded, newest)
    quality = quality.model_copy(update={"as_of": as_of, "as_of_rule": rule, "notes": quality.notes + as_of_notes})
    accounts = quality.table("accounts")
    report(0.5, f"stored database open: {accounts.rows_loaded if accounts else 0:,} accounts")
    # the same last words as a fresh load
    report(1.0, f"workspace ready: {len(loaded)} tables, {quality.rows_loaded:,} rows, "
                f"{quality.rows_rejected:,} rejected")
    return Workspace(path=root, settings=settings, con=con, tables=loaded,
                     custom=accounts.custom_columns if accounts else [], quality=quality)


def data_files(settings: Settings) -> set[Path]:
    """The data files in the workspace folder and below (dot-folders, such as saved plans, left out)."""
    root = workspace_root(settings)
    if not root.is_dir():
        return set()
    return {
        p
        for p in root.rglob("*")
        if p.is_file() and _is_data_file(p) and not any(part.startswith(".") for part in p.relative_to(root).parts)
    }


def workspace_version(settings: Settings, extra_files: list[Path] | None = None) -> str:
    """Short hash of the workspace's data files (names, sizes, mtimes) and the table mappings."""
    h = hashlib.sha256()
    files = set(extra_files or []) | data_files(settings)
    for p in sorted(files):
        st = p.stat()
        h.update(f"{p}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    mappings = {k: v.model_dump(mode="json") for k, v in sorted(settings.data.tables.items())}
    h.update(json.dumps(mappings, sort_keys=True).encode())
    return h.hexdigest()[:12]


# ---------------------------------------------------------------------------------------- sources


@dataclass
class _Source:
    mapping: TableMapping
    files: list[Path] = field(default_factory=list)
    sql: str | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(f.stat().st_size for f in self.files)


def _is_data_file(p: Path) -> bool:
    return p.name.lower().endswith(FILE_SUFFIXES + (".tsv.gz", ".pq"))


def _resolve_source(root: Path, name: str, mapping: TableMapping) -> _Source | None:
    """Where a table comes from: its mapping's `sql` or `file` (a glob), else `<name>.<suffix>`."""
    if mapping.sql:
        return _Source(mapping, sql=mapping.sql.strip().rstrip(";"))
    if mapping.file:
        pattern = os.path.join(root, mapping.file)
        files = sorted(Path(p) for p in glob.glob(pattern, recursive=True) if Path(p).is_file())
        if not files:
            return _Source(mapping, error=f"tables.{name}.file {mapping.file!r} matches no file in {root}")
        return _Source(mapping, files=files)
    found = {p.name.lower(): p for p in root.iterdir() if p.is_file()}
    candidates = [found[name + s] for s in (*FILE_SUFFIXES, ".tsv.gz") if name + s in found]
    if not candidates:
        return None
    src = _Source(mapping, files=[candidates[0]])
    if len(candidates) > 1:
        src.notes.append(
            f"found {', '.join(c.name for c in candidates)}; read {candidates[0].name} "
            f"(set tables.{name}.file in {CONFIG_FILE_NAME} to choose)"
        )
    return src


def _no_accounts_message(root: Path) -> str:
    files = sorted(p.name for p in root.iterdir() if p.is_file() and _is_data_file(p))
    found = f"found: {', '.join(files[:20])}" if files else "the folder holds no CSV or Parquet file"
    return (
        f"No accounts table in {root}: expected accounts.csv, accounts.tsv, accounts.csv.gz or "
        f"accounts.parquet ({found}). Rename your accounts export, or point to it in "
        f"{root / CONFIG_FILE_NAME}:\n\ntables:\n  accounts:\n    file: <your accounts file>.csv\n"
    )


def _unused_files_note(
    root: Path, sources: dict[str, _Source], mappings: dict[str, TableMapping]
) -> list[str]:
    used = {f.resolve() for s in sources.values() for f in s.files}
    sql_text = " ".join(m.sql or "" for m in mappings.values())
    unused = sorted(
        p.name
        for p in root.iterdir()
        if p.is_file() and _is_data_file(p) and p.resolve() not in used and p.name not in sql_text
    )
    if not unused:
        return []
    return [
        f"files not read as any table: {', '.join(unused)} (name a file after its table, e.g. "
        f"usage.csv, or map it with tables.<table>.file in {CONFIG_FILE_NAME})"
    ]


# ------------------------------------------------------------------------------------ table loader


@dataclass
class _Part:
    """One file (or the SQL query) of a table, staged at rows [start, start + rows)."""

    label: str
    start: int
    rows: int
    malformed: list[int] = field(default_factory=list)
    """Data rows the CSV reader could not split; later stage rows are shifted past them."""


class _TableLoader:
    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        root: Path,
        settings: Settings,
        table: Table,
        source: _Source,
        progress: Progress,
    ) -> None:
        self.con, self.root, self.settings, self.table, self.source = con, root, settings, table, source
        self.mapping = source.mapping
        self.limit = settings.data.max_reported_problems
        self.progress = progress
        self.parts: list[_Part] = []
        self.extra_problems: list[Problem] = []
        self.present: set[str] = set()
        self.raw_kept: set[str] = set()  # columns whose parsing can fail in some part
        self.columns_mapped: dict[str, str] = {}
        self.custom: dict[str, str] = {}  # custom column name -> source column
        self.ignored: list[str] = []
        self.notes: list[str] = []
        self.unusable_rows = 0
        self.t = table.name
        self.in_place = (
            settings.data.parquet_in_place
            and table.name != "accounts"  # accounts derive columns and are joined by every check: copied
            and not source.sql
            and bool(source.files)
            and not any(sql.is_csv(f) for f in source.files)
        )
        """Parquet read where it lies: the stage and the canonical table are views over the files."""
        self.rid = "_cs_rid" if self.in_place else "rowid"
        """The stage's row number: the source's data row, 0-based, over all parts in order."""
        self.view_parts: list[str] = []

    # ---- staging

    def load(self) -> TableQuality:
        if not self.in_place:
            return self._load()
        try:
            return self._load()
        except Exception as exc:
            # a file the views cannot read through (a damaged page, say): the copy reports what is wrong
            log.info("reading %s in place failed (%s); copying it", self.t, _first_line(exc))
            self._undo_in_place()
        data = self.settings.data.model_copy(update={"parquet_in_place": False})
        copying = self.settings.model_copy(update={"data": data})
        return _TableLoader(self.con, self.root, copying, self.table, self.source, self.progress).load()

    def _undo_in_place(self) -> None:
        self.con.execute(f"DELETE FROM {_PROBLEMS} WHERE tbl = {sql.literal(self.t)}")
        self.con.execute(f"DROP VIEW IF EXISTS {sql.ident(self.t)}")
        self.con.execute(f"DROP TABLE IF EXISTS {self._rejected_table()}")
        self._drop_stage()

    def _load(self) -> TableQuality:
        label = "sql" if self.source.sql else ", ".join(self._label(f) for f in self.source.files)
        if self.source.error:
            return self._unusable(label, self.source.error)
        self.progress(0.0, f"reading {self.t} from {label}")
        self._create_stage()
        if self.source.sql:
            self._stage_part("sql", f"({self.source.sql})", csv=False)
        else:
            for i, f in enumerate(self.source.files):
                if i:
                    self.progress(0.5 * i / len(self.source.files), f"reading {self.t} from {self._label(f)}")
                self._stage_file(f)
        if not self.parts:
            reason = "; ".join(p.reason for p in self.extra_problems if p.row is None)
            self._drop_stage()
            return self._unusable(label, reason)
        staged = sum(p.rows for p in self.parts)
        if self.in_place:
            self.con.execute(f"CREATE TEMP VIEW {_STAGE} AS {self._stage_sql()}")
        self.progress(0.6, f"{'checking' if self.in_place else 'loading'} {self.t} ({staged:,} rows)")
        self._validate()
        self.progress(0.9, f"materializing {self.t}")
        custom_types = self._materialize()
        self._drop_stage()
        q = self._quality(label, staged, custom_types)
        self.progress(1.0, f"loaded {self.t}: {q.rows_loaded:,} rows, {q.rows_rejected:,} rejected")
        return q

    def _label(self, f: Path) -> str:
        try:
            return str(f.relative_to(self.root))
        except ValueError:
            return str(f)

    def _create_stage(self) -> None:
        if self.in_place:  # the view is created once every file is described
            return
        cols = []
        for i, c in enumerate(self.table.columns):
            cols.append(f"p{i} {sql.DUCKDB_TYPES[c.type]}")
            if c.type != "string":
                cols.append(f"r{i} VARCHAR")
        self.con.execute(f"CREATE TABLE {_STAGE} ({', '.join(cols)})")

    def _drop_stage(self) -> None:
        self.con.execute(f"DROP {'VIEW' if self.in_place else 'TABLE'} IF EXISTS {_STAGE}")

    def _stage_sql(self) -> str:
        return " UNION ALL ".join(self.view_parts)

    def _stage_file(self, f: Path) -> None:
        label = self._label(f)
        if f.stat().st_size == 0:
            self._part_problem(label, None, f"{label} is empty (not even a header line)")
        elif not sql.is_csv(f):
            numbered = sql.source_reader(f, row_numbers=True) if self.in_place else None
            self._stage_part(label, sql.source_reader(f), csv=False, view_reader=numbered)
        elif not self._stage_part(label, sql.source_reader(f), csv=True, utf8_only=True):
            self._stage_part(label, sql.source_reader(f, "latin-1"), csv=True)
            self.notes.append(f"{label} is not UTF-8: read as latin-1")

    def _stage_part(
        self, label: str, reader: str, csv: bool, utf8_only: bool = False, view_reader: str | None = None
    ) -> bool:
        """Stage one file or query (False: not UTF-8 under `utf8_only`, nothing staged); with `view_reader`
        (a Parquet file with row numbers) the part is a SELECT of the stage view, not rows copied."""
        try:
            described = self.con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
        except Exception as exc:  # duckdb raises many error types for unreadable files
            self._part_problem(label, None, self._read_error(label, exc))
            return True
        source_types = {row[0]: row[1] for row in described}
        mapped, mapping_problems = self._map_columns(label, list(source_types))
        for col, reason in mapping_problems:
            self._part_problem(label, col, reason, rejected=self.table.column(col).required)
        missing = [c for c in self.table.required if c not in mapped]
        if missing:
            if self.t == "accounts":
                raise WorkspaceError(
                    self._missing_required_message(
                        label, missing, list(source_types), [r for _, r in mapping_problems]
                    )
                )
            self._part_problem(
                label, ", ".join(missing), self._missing_required_reason(missing, list(source_types))
            )
            self._count_unusable_rows(reader)
            return True
        exprs = []
        plain: dict[int, tuple[str, str]] = {}  # exprs position -> (text column a view may read bare, unless)
        for i, c in enumerate(self.table.columns):
            src = mapped.get(c.name)
            if src is None:
                exprs.append(f"NULL AS p{i}")
                if c.type != "string":
                    exprs.append(f"NULL AS r{i}")
                continue
            typed, raw = sql.parse_source(
                sql.ident(src),
                source_types[src],
                c,
                self.mapping.date_format,
                self.mapping.values.get(c.name),
            )
            if view_reader is not None and sql.base_type(source_types[src]) == "VARCHAR":
                bare_unless = self._bare_unless(typed, src, c)
                if bare_unless is not None:
                    plain[len(exprs)] = (src, bare_unless)
            exprs.append(f"{typed} AS p{i}")
            if c.type != "string":
                exprs.append(f"{raw or 'NULL'} AS r{i}")
            if raw is not None:
                self.raw_kept.add(c.name)
            self.present.add(c.name)
            self.columns_mapped.setdefault(c.name, src)
        used = set(mapped.values())
        extras = [s for s in source_types if s not in used]
        custom_exprs = self._custom_exprs(extras) if self.table.extra_columns_kept else []
        if not self.table.extra_columns_kept:
            self.ignored += [e for e in extras if e not in self.ignored]
        if view_reader is not None:
            return self._stage_view_part(label, self._view_select(exprs, plain, reader), view_reader)
        start = self.con.execute(f"SELECT count(*) FROM {_STAGE}").fetchone()[0]
        if csv:
            self._drop_rejects()
        columns = [
            f"p{i}" + (f", r{i}" if c.type != "string" else "") for i, c in enumerate(self.table.columns)
        ]
        target = ", ".join(columns + [name for name, _ in custom_exprs])
        select = ", ".join(exprs + [f"{e} AS {name}" for name, e in custom_exprs])
        try:
            self.con.execute(self._insert_in_source_order(target, select, reader))
        except Exception as exc:
            self._part_problem(label, None, self._read_error(label, exc))
            return True
        rows = self.con.execute(f"SELECT count(*) FROM {_STAGE}").fetchone()[0] - start
        part = _Part(label, start, rows)
        rejects = self._collect_rejects() if csv else []
        if utf8_only and any(kind == "INVALID ENCODING" for *_, kind in rejects):
            self.con.execute(
                f"CREATE OR REPLACE TABLE {_STAGE} AS SELECT * FROM {_STAGE} WHERE rowid < {start}"
            )
            return False
        for row, text, message, _ in rejects:
            part.malformed.append(row)
            self.extra_problems.append(
                Problem(
                    table=self.t,
                    file=label,
                    row=row,
                    value=_truncate(text),
                    reason=f"malformed line: {message}",
                    rejected=True,
                )
            )
        self.parts.append(part)
        return True

    @staticmethod
    def _bare_unless(typed: str, src: str, c: Column) -> str | None:
        """For a text source whose cleaning a view could skip: the condition on a value that needs it (None:
        always clean it). Plain text needs it when blank or padded; a categorical column (no `values:`
        mapping) when the value is not one of its canonical spellings."""
        s = sql.ident(src)
        if typed == sql.cleaned(s):
            return f"{s} = '' OR {s} <> TRIM({s})"
        canonical = tuple(a for a in c.allowed if a == a.lower())
        if c.allowed and typed == sql.categorical(sql.cleaned(s), c.allowed) and canonical:
            return f"{s} IS NOT NULL AND NOT {sql.one_of(s, canonical)}"
        return None

    def _view_select(self, exprs: list[str], plain: dict[int, tuple[str, str]], reader: str) -> str:
        """The view's SELECT, reading a text column as it is when no value of it needs cleaning (none blank or
        padded; of a categorical column, every value spelled as canonical): then `account_id = $id` reaches
        the Parquet reader, which skips the row groups whose statistics exclude it (a trimmed column is read
        whole: one account's health would scan 66M usage rows), and no query lower-cases 16M touchpoint types."""
        if plain:
            counts = self.con.execute(
                "SELECT " + ", ".join(f"count(*) FILTER (WHERE {unless})" for _, unless in plain.values())
                + f" FROM {reader}"
            ).fetchone()
            for (k, (src, _)), n in zip(plain.items(), counts, strict=True):
                if n == 0:
                    exprs[k] = f"{sql.ident(src)} AS {exprs[k].rsplit(' AS ', 1)[1]}"
        return ", ".join(exprs)

    def _stage_view_part(self, label: str, select: str, reader: str) -> bool:
        start = sum(p.rows for p in self.parts)
        try:
            rows = self.con.execute(f"SELECT count(*) FROM {reader}").fetchone()[0]
        except Exception as exc:  # duckdb raises many error types for unreadable files
            self._part_problem(label, None, self._read_error(label, exc))
            return True
        self.view_parts.append(f"SELECT {select}, file_row_number + {start} AS {self.rid} FROM {reader}")
        self.parts.append(_Part(label, start, rows))
        return True

    def _insert_in_source_order(self, target: str, select: str, reader: str) -> str:
        """The staging INSERT, planned so that stage row ids follow the source's rows (the reported file rows
        are row ids). DuckDB keeps that order in a batch insert; a plan without one (a `sql:` mapping with a
        join, say) would store rows as threads finish, so it is numbered as read and sorted back."""
        insert = f"INSERT INTO {_STAGE} ({target}) SELECT {select} FROM {reader}"
        plan = json.loads(self.con.execute(f"EXPLAIN (FORMAT json) {insert}").fetchall()[0][1])
        if plan and plan[0].get("name") == "BATCH_INSERT":
            return insert
        return (
            f"INSERT INTO {_STAGE} ({target}) SELECT {target} FROM "
            f"(SELECT {select}, row_number() OVER () AS _cs_n FROM {reader}) ORDER BY _cs_n"
        )

    def _map_columns(
        self, label: str, source_cols: list[str]
    ) -> tuple[dict[str, str], list[tuple[str, str]]]:
        """canonical -> source column: explicit `columns:` first, else the same name up to case."""
        explicit = self.mapping.columns
        canonical = set(self.table.column_names)
        for key in explicit:
            if key not in canonical and f"columns.{key}" not in " ".join(self.notes):
                self.notes.append(
                    f"tables.{self.t}.columns.{key}: {self.t} has no column {key!r}; "
                    f"columns: {', '.join(self.table.column_names)}"
                )
        lower = {}
        keyed = {}
        for s in source_cols:
            lower.setdefault(s.lower(), s)
            keyed.setdefault(sql.match_key(s), s)
        reserved = {lower.get(v.lower(), v) for k, v in explicit.items() if k in canonical}
        mapped: dict[str, str] = {}
        problems = []
        for c in self.table.columns:
            if c.name in explicit:
                want = explicit[c.name]
                src = want if want in source_cols else lower.get(want.lower())
                if src is None:
                    problems.append(
                        (
                            c.name,
                            f"tables.{self.t}.columns maps {c.name} to {want!r}, which is not "
                            f"a column of {label} (columns: {_names(source_cols)})",
                        )
                    )
                    continue
            else:
                src = c.name if c.name in source_cols else keyed.get(sql.match_key(c.name))
                if src is None or src in reserved or src in mapped.values():
                    continue
            mapped[c.name] = src
        return mapped, problems

    def _custom_exprs(self, extras: list[str]) -> list[tuple[str, str]]:
        """Stage columns for extra account columns, in snake_case, one per distinct name over all files."""
        out = []
        taken = set(self.table.column_names)
        by_source = {v: k for k, v in self.custom.items()}
        for src in extras:
            name = by_source.get(src)
            if name is None:
                base = sql.snake_case(src)
                name, n = base, 2
                while name in taken or name in self.custom:
                    name, n = f"{base}_{n}", n + 1
                self.custom[name] = src
                self.con.execute(f"ALTER TABLE {_STAGE} ADD COLUMN {sql.ident('x_' + name)} VARCHAR")
            out.append((sql.ident("x_" + name), sql.cleaned(sql.ident(src))))
        return out

    def _drop_rejects(self) -> None:
        self.con.execute("DROP TABLE IF EXISTS _cs_rejects")
        self.con.execute("DROP TABLE IF EXISTS _cs_reject_scans")

    def _collect_rejects(self) -> list[tuple[int, str, str, str]]:
        """Lines the CSV reader could not split, as (data row, line, message, error type), one per row."""
        try:
            found = self.con.execute(
                "SELECT r.line, r.csv_line, r.error_message, CAST(r.error_type AS VARCHAR), s.skip_rows "
                "FROM _cs_rejects r JOIN _cs_reject_scans s USING (scan_id, file_id) ORDER BY r.line"
            ).fetchall()
        except Exception:  # no reject tables: the reader had nothing to reject
            return []
        finally:
            self._drop_rejects()
        out: dict[int, tuple[int, str, str, str]] = {}
        for line, text, message, kind, skip in found:
            row = int(line) - 1 - int(skip or 0)
            out.setdefault(row, (row, text, message, kind))
        return list(out.values())

    def _count_unusable_rows(self, reader: str) -> None:
        try:
            self.unusable_rows += self.con.execute(f"SELECT count(*) FROM {reader}").fetchone()[0]
        except Exception:  # counting is best effort: the table is reported unusable anyway
            pass
        self._drop_rejects()

    def _read_error(self, label: str, exc: Exception) -> str:
        if label == "sql":
            return f"tables.{self.t}.sql failed: {_first_line(exc)}"
        return f"cannot read {label}: {_first_line(exc)}"

    def _part_problem(self, label: str, column: str | None, reason: str, rejected: bool = True) -> None:
        self.extra_problems.append(
            Problem(table=self.t, file=label, column=column, reason=reason, rejected=rejected)
        )

    def _missing_required_reason(self, missing: list[str], found: list[str]) -> str:
        return (
            f"required column{'s' if len(missing) > 1 else ''} {', '.join(missing)} missing, so the table "
            f"is not usable (columns found: {_names(found)}); map "
            f"{'them' if len(missing) > 1 else 'it'} in {CONFIG_FILE_NAME}: tables.{self.t}.columns."
            f"{missing[0]}: <column>"
        )

    def _missing_required_message(
        self, label: str, missing: list[str], found: list[str], mapping_problems: list[str]
    ) -> str:
        lines = []
        for col in missing:
            guess = difflib.get_close_matches(col, [f.lower() for f in found], n=1, cutoff=0.4)
            src = next((f for f in found if guess and f.lower() == guess[0]), None)
            hint = f"<column in {label}>" + (
                "  # or the id column if there is no name" if col == "name" else ""
            )
            lines.append(f"      {col}: {src if src else hint}")
        return (
            f"{label} has no column for required {', '.join(missing)} (after mapping). Columns found: "
            f"{_names(found)}.\n"
            + "".join(m + ".\n" for m in mapping_problems)
            + f"Map them in {self.root / CONFIG_FILE_NAME}:\n\ntables:\n  accounts:\n"
            f"    columns:\n" + "\n".join(lines) + "\n"
        )

    # ---- validation

    def _col(self, name: str) -> str:
        return f"p{self.table.column_names.index(name)}"

    def _insert_problems(self, selects: list[str]) -> None:
        if selects:
            self.con.execute(f"INSERT INTO {_PROBLEMS} " + " UNION ALL ".join(selects))

    def _validate(self) -> None:
        t = sql.literal(self.t)
        selects = []
        for i, c in enumerate(self.table.columns):
            if c.name not in self.present:
                continue
            p, r, col = f"p{i}", f"r{i}", sql.literal(c.name)
            req = "true" if c.required else "false"
            if c.name in self.raw_kept:
                selects.append(
                    f"SELECT {t}, {self.rid}, {col}, left({r}, 80), 'unparseable', {req}, NULL FROM {_STAGE} "
                    f"WHERE {r} IS NOT NULL AND {p} IS NULL AND NOT {sql.is_null_token(r)}"
                )
            if c.required:
                raw = c.name in self.raw_kept
                blank = f"({r} IS NULL OR {sql.is_null_token(r)})" if raw else "true"
                selects.append(
                    f"SELECT {t}, {self.rid}, {col}, {r if raw else 'NULL'}, 'missing', true, "
                    f"NULL FROM {_STAGE} WHERE {p} IS NULL AND {blank}"
                )
            bad = sql.out_of_range(p, c)
            if bad:
                kind = (
                    "'date_range'"
                    if c.type in ("date", "timestamp")
                    else f"CASE WHEN {p} < {c.min_value!r} THEN 'below_min' ELSE 'above_max' END"
                    if c.min_value is not None
                    else "'above_max'"
                )
                shown = (
                    f"COALESCE({r}, CAST({p} AS VARCHAR))"
                    if c.name in self.raw_kept
                    else f"CAST({p} AS VARCHAR)"
                )
                selects.append(
                    f"SELECT {t}, {self.rid}, {col}, left({shown}, 80), {kind}, "
                    f"{req}, NULL FROM {_STAGE} WHERE {p} IS NOT NULL AND {bad}"
                )
            if c.allowed:
                selects.append(
                    f"SELECT {t}, {self.rid}, {col}, left({p}, 80), 'unknown_value', false, NULL "
                    f"FROM {_STAGE} WHERE {p} IS NOT NULL AND {p} NOT IN {sql.literal_list(c.allowed)}"
                )
        self._insert_problems(selects)
        rejected_rids = f"(SELECT rid FROM {_PROBLEMS} WHERE tbl = {t} AND rejected)"
        if self.table.account_child:
            a = self._col("account_id")
            self.con.execute(
                f"INSERT INTO {_PROBLEMS} SELECT {t}, s.{self.rid}, 'account_id', left(s.{a}, 80), "
                f"CASE WHEN s.{a} IN (SELECT account_id FROM {_ACCOUNT_IDS}) THEN 'rejected_account' "
                f"ELSE 'unknown_account' END, true, NULL FROM {_STAGE} s "
                f"ANTI JOIN accounts a ON s.{a} = a.account_id WHERE s.{a} IS NOT NULL"
            )
        key = [k for k in self.table.key if k in self.present]
        if key and len(key) == len(self.table.key):
            self._insert_duplicates(key, rejected_rids)

    def _insert_duplicates(self, key: list[str], rejected_rids: str) -> None:
        """Every occurrence of a key after its first (among rows not rejected already) is a duplicate.

        The keys that repeat are found by one aggregation (few rows come out of it), then joined back to the
        stage: no copy of the stage and no window over it (a million accounts' usage is 66M rows).
        """
        t = sql.literal(self.t)
        cols = [self._col(k) for k in key]
        not_null = " AND ".join(f"{c} IS NOT NULL" for c in cols)
        rid = self.rid
        survivors = f"{not_null} AND {rid} NOT IN {rejected_rids}" if self._rejected_any() else not_null
        if self._strictly_increasing(cols, survivors):
            return
        shown = "concat_ws(', ', " + ", ".join(f"CAST(s.{c} AS VARCHAR)" for c in cols) + ")"
        on = " AND ".join(f"s.{c} = d.{c}" for c in cols)
        self.con.execute(
            f"INSERT INTO {_PROBLEMS} WITH dup AS (SELECT {', '.join(cols)}, min({rid}) AS first FROM {_STAGE} "
            f"WHERE {survivors} GROUP BY ALL HAVING count(*) > 1) "
            f"SELECT {t}, s.{rid}, {sql.literal(', '.join(key))}, left({shown}, 80), 'duplicate', true, d.first "
            f"FROM (SELECT {rid}, {', '.join(cols)} FROM {_STAGE} WHERE {survivors}) s JOIN dup d ON {on} "
            f"WHERE s.{rid} > d.first"
        )

    def _strictly_increasing(self, cols: list[str], survivors: str) -> bool:
        """Whether no key repeats, proved in one streaming pass over the stage (no hash table of every key).

        The pass splits the stage, in storage order, into runs whose keys each exceed the one before; runs
        whose key ranges do not overlap hold no key twice. Files exported in key order (the usual
        `ORDER BY account_id, date`) pass, also when DuckDB stored the rows in a few shuffled blocks; any
        other order answers False and the aggregation decides.
        """
        keys = ", ".join(cols)
        prev = [f"q{i}" for i in range(len(cols))]
        lags = ", ".join(f"lag({c}) OVER () AS {q}" for c, q in zip(cols, prev, strict=True))
        not_above = "true"  # key <= previous key, column by column
        for c, q in reversed(list(zip(cols, prev, strict=True))):
            not_above = f"({c} < {q} OR ({c} = {q} AND {not_above}))"
        k = len(cols)
        rows = self.con.execute(
            f"SELECT rid <= qr, q0 IS NOT NULL AND {not_above}, last, {keys}, {', '.join(prev)} FROM "
            f"(SELECT {self.rid} AS rid, {keys}, {lags}, lag({self.rid}) OVER () AS qr, "
            f"lead({cols[0]}) OVER () IS NULL AS last FROM {_STAGE} WHERE {survivors}) "
            f"WHERE q0 IS NULL OR last OR rid <= qr OR {not_above} ORDER BY rid LIMIT {MAX_KEY_RUNS + 2}"
        ).fetchall()
        if not rows:
            return True
        if len(rows) > MAX_KEY_RUNS or any(backwards for backwards, *_ in rows):
            return False
        # runs start at the first row and at each break; they end before each break and at the last row
        starts = [r[3:3 + k] for i, r in enumerate(rows) if i == 0 or r[1]]
        ends = [r[3 + k:] for r in rows if r[1]] + [rows[-1][3:3 + k]]
        return _disjoint(sorted(zip(starts, ends, strict=True)))

    def _rejected_any(self) -> bool:
        return self.con.execute(
            f"SELECT count(*) > 0 FROM {_PROBLEMS} WHERE tbl = {sql.literal(self.t)} AND rejected"
        ).fetchone()[0]

    def _materialize(self) -> dict[str, str]:
        """Create the canonical table without rejected rows; returns custom column types."""
        if self.in_place:
            return self._view_becomes_table()
        if self.t != "accounts":  # no derived columns: the stage itself becomes the table
            return self._stage_becomes_table()
        t = sql.literal(self.t)
        exprs = []
        for i, c in enumerate(self.table.columns):
            p = f"p{i}"
            if c.name not in self.present and self.t == "accounts" and c.name == "status":
                churned = self._col("churned_on")
                exprs.append(f"CASE WHEN {churned} IS NOT NULL THEN 'churned' ELSE 'active' END AS status")
                self.notes.append(
                    "no status column: status derived from churned_on (churned when set, else active)"
                    if "churned_on" in self.present
                    else "no status or churned_on column: every account counts as active (no churn outcomes)"
                )
                continue
            bad = sql.out_of_range(p, c)
            if bad and not c.required:
                p = f"CASE WHEN {bad} THEN NULL ELSE {p} END"
            exprs.append(f"CAST({p} AS {sql.DUCKDB_TYPES[c.type]}) AS {sql.ident(c.name)}")
        custom_types = self._custom_types()
        for name, kind in custom_types.items():
            x = sql.ident("x_" + name)
            exprs.append(f"{'TRY_CAST(' + x + ' AS DOUBLE)' if kind == 'DOUBLE' else x} AS {sql.ident(name)}")
        self.con.execute(
            f"CREATE TABLE {sql.ident(self.t)} AS SELECT {', '.join(exprs)} FROM {_STAGE} s "
            f"ANTI JOIN (SELECT DISTINCT rid FROM {_PROBLEMS} WHERE tbl = {t} AND rejected) r "
            "ON s.rowid = r.rid"
        )
        if self.t == "accounts":
            self.con.execute(
                f"CREATE TABLE {_ACCOUNT_IDS} AS SELECT DISTINCT p0 AS account_id FROM {_STAGE} "
                "WHERE p0 IS NOT NULL"
            )
        return custom_types

    def _custom_types(self) -> dict[str, str]:
        """DOUBLE for a custom column whose every value is a finite number, else VARCHAR."""
        if not self.custom:
            return {}
        counts = self.con.execute(
            "SELECT "
            + ", ".join(
                f"count({sql.ident('x_' + n)}), "
                f"count(CASE WHEN isfinite(TRY_CAST({sql.ident('x_' + n)} AS DOUBLE)) THEN 1 END)"
                for n in self.custom
            )
            + f" FROM {_STAGE}"
        ).fetchone()
        numeric = [counts[2 * j] > 0 and counts[2 * j] == counts[2 * j + 1] for j in range(len(self.custom))]
        return {name: "DOUBLE" if num else "VARCHAR" for name, num in zip(self.custom, numeric, strict=True)}

    def _flagged_columns(self) -> set[str]:
        """Columns with out-of-range values that are kept as NULL (not rejected)."""
        return {
            row[0]
            for row in self.con.execute(
                f"SELECT DISTINCT col FROM {_PROBLEMS} WHERE tbl = {sql.literal(self.t)} AND NOT rejected "
                "AND kind IN ('below_min', 'above_max', 'date_range')"
            ).fetchall()
        }

    def _rejected_table(self) -> str:
        return sql.ident(f"_cs_rejected_{self.t}")

    def _view_becomes_table(self) -> dict[str, str]:
        """The canonical table as a view over the Parquet files, nothing copied: rejected rows left out by
        their row numbers (kept in a small table), out-of-range optional values read as NULL, columns named
        and typed as a loaded table's. A feature query reads Parquet about as fast as its own tables."""
        flagged = self._flagged_columns()
        exprs = []
        for i, c in enumerate(self.table.columns):
            p, bad = f"p{i}", sql.out_of_range(f"p{i}", c)
            if c.name in flagged and bad and not c.required:
                p = f"CASE WHEN {bad} THEN NULL ELSE {p} END"
            exprs.append(f"CAST({p} AS {sql.DUCKDB_TYPES[c.type]}) AS {sql.ident(c.name)}")
        source = f"({self._stage_sql()}) s"
        if self._rejected_any():
            rejected = self._rejected_table()
            self.con.execute(
                f"CREATE TABLE {rejected} AS SELECT DISTINCT rid FROM {_PROBLEMS} "
                f"WHERE tbl = {sql.literal(self.t)} AND rejected ORDER BY rid"
            )
            # rows keep file order within each row group only (any join here interleaves them): every query
            # orders explicitly, as on PostgreSQL and Spark
            source += f" WHERE s.{self.rid} NOT IN (SELECT rid FROM {rejected})"
        self.con.execute(f"CREATE VIEW {sql.ident(self.t)} AS SELECT {', '.join(exprs)} FROM {source}")
        return {}

    def _stage_becomes_table(self) -> dict[str, str]:
        """Turn the stage into the canonical table in place (a copy of 66M usage rows costs seconds):
        rejected rows deleted, out-of-range optional values set to NULL, raw-text columns dropped, columns
        renamed, custom columns typed. The rows keep their file order; returns custom column types."""
        t = sql.literal(self.t)
        if self._rejected_any():
            self.con.execute(
                f"DELETE FROM {_STAGE} WHERE rowid IN (SELECT rid FROM {_PROBLEMS} WHERE tbl = {t} AND rejected)"
            )
        flagged = self._flagged_columns()
        for i, c in enumerate(self.table.columns):
            bad = sql.out_of_range(f"p{i}", c)
            if c.name in flagged and bad and not c.required:
                self.con.execute(f"UPDATE {_STAGE} SET p{i} = NULL WHERE p{i} IS NOT NULL AND {bad}")
        for i, c in enumerate(self.table.columns):
            if c.type != "string":
                self.con.execute(f"ALTER TABLE {_STAGE} DROP COLUMN r{i}")
            self.con.execute(f"ALTER TABLE {_STAGE} RENAME COLUMN p{i} TO {sql.ident(c.name)}")
        custom_types = self._custom_types()
        for name, kind in custom_types.items():
            x = sql.ident("x_" + name)
            if kind == "DOUBLE":
                self.con.execute(f"ALTER TABLE {_STAGE} ALTER {x} TYPE DOUBLE USING TRY_CAST({x} AS DOUBLE)")
            self.con.execute(f"ALTER TABLE {_STAGE} RENAME COLUMN {x} TO {sql.ident(name)}")
        self.con.execute(f"ALTER TABLE {_STAGE} RENAME TO {sql.ident(self.t)}")
        return custom_types

    # ---- report

    def _row(self, rid: int) -> tuple[str, int]:
        """(file, 1-based data row) of a stage row id."""
        starts = [p.start for p in self.parts]
        part = self.parts[bisect.bisect_right(starts, rid) - 1]
        k = rid - part.start + 1
        shifts = [m - i for i, m in enumerate(part.malformed)]
        return part.label, k + bisect.bisect_left(shifts, k + 1)

    def _quality(self, label: str, staged: int, custom_types: dict[str, str]) -> TableQuality:
        t = sql.literal(self.t)
        loaded = self.con.execute(f"SELECT count(*) FROM {sql.ident(self.t)}").fetchone()[0]
        malformed = sum(len(p.malformed) for p in self.parts)
        warnings = self.con.execute(
            f"SELECT count(*) FROM {_PROBLEMS} WHERE tbl = {t} AND NOT rejected"
        ).fetchone()[0]
        summary_rows = self.con.execute(
            f"SELECT col, kind, rejected, count(*) AS n FROM {_PROBLEMS} WHERE tbl = {t} "
            "GROUP BY ALL ORDER BY n DESC, col, kind"
        ).fetchall()
        summary = [
            ProblemCount(column=col, reason=self._reason(kind, col), rejected=rej, count=n)
            for col, kind, rej, n in summary_rows
        ]
        if malformed:
            summary.append(ProblemCount(column=None, reason="malformed line", rejected=True, count=malformed))
        for p in self.extra_problems:
            if p.row is None:
                summary.append(ProblemCount(column=p.column, reason=p.reason, rejected=p.rejected, count=1))
        listed = self.con.execute(
            f"SELECT rid, col, val, kind, rejected, ref FROM {_PROBLEMS} WHERE tbl = {t} "
            f"ORDER BY rid, col LIMIT {self.limit}"
        ).fetchall()
        problems = list(self.extra_problems)
        for rid, col, val, kind, rej, ref in listed:
            file, row = self._row(rid)
            reason = self._reason(kind, col)
            if ref is not None:
                ref_file, ref_row = self._row(ref)
                reason += f": first at row {ref_row}" + (f" of {ref_file}" if ref_file != file else "")
            problems.append(
                Problem(table=self.t, file=file, row=row, column=col, value=val, reason=reason, rejected=rej)
            )
        problems.sort(key=lambda p: (p.row is not None, p.file, p.row or 0))
        total = sum(s.count for s in summary)
        self.notes += self._hints(summary_rows, staged)
        missing_optional = [
            c.name for c in self.table.columns if c.name not in self.present and not c.required
        ]
        if self.t == "accounts" and "status" in missing_optional and "churned_on" not in missing_optional:
            missing_optional.remove("status")
        return TableQuality(
            table=self.t,
            status="loaded",
            source=label,
            rows_read=staged + malformed + self.unusable_rows,
            rows_loaded=loaded,
            rows_rejected=staged + malformed + self.unusable_rows - loaded,
            warnings=warnings + sum(1 for p in self.extra_problems if not p.rejected),
            columns_mapped=self.columns_mapped,
            missing_optional_columns=missing_optional,
            ignored_columns=self.ignored,
            custom_columns=[
                CustomColumn(name=n, source=s, type=custom_types[n]) for n, s in self.custom.items()
            ],
            notes=self.notes,
            problem_summary=summary,
            problems=problems[: self.limit],
            problems_not_listed=max(total - min(len(problems), self.limit), 0),
            read_in_place=self.in_place,
        )

    def _reason(self, kind: str, col: str | None) -> str:
        c = self.table.column(col) if col in self.table.column_names else None
        if kind == "unparseable" and c is not None:
            fmt = f" or {self.mapping.date_format}" if self.mapping.date_format else ""
            return {
                "float": "not a number",
                "integer": "not a whole number",
                "date": f"not a date (expected YYYY-MM-DD{fmt})",
                "timestamp": f"not a date-time (expected YYYY-MM-DD HH:MM:SS{fmt})",
                "boolean": "not a boolean (true/false, yes/no, y/n, 1/0)",
            }.get(c.type, "cannot be read")
        if kind == "below_min" and c is not None:
            return f"below the minimum {c.min_value:g}"
        if kind == "above_max" and c is not None:
            return f"above the maximum {c.max_value:g}"
        if kind == "unknown_value" and c is not None:
            return f"unknown value (expected one of: {', '.join(c.allowed)}); kept"
        return {
            "missing": "missing required value",
            "date_range": f"date outside {sql.EARLIEST}..{sql.LATEST}",
            "unknown_account": "account_id not in accounts",
            "rejected_account": "account_id's accounts row was rejected",
            "duplicate": f"duplicate key ({col})",
        }.get(kind, kind)

    def _hints(self, summary_rows: list[tuple], staged: int) -> list[str]:
        """Notes that say how to fix the commonest whole-column mistakes."""
        hints = []
        for col, kind, _, n in summary_rows:
            c = self.table.column(col) if col in self.table.column_names else None
            if kind == "unparseable" and c is not None and c.type in ("date", "timestamp"):
                fits = self._guess_date_format(col)
                if fits:
                    also = f" (they also fit {fits[1]!r}: check which)" if len(fits) > 1 else ""
                    hints.append(
                        f"{n:,} {col} value(s) are not ISO dates (YYYY-MM-DD) but fit {fits[0]!r}{also}: "
                        f"set tables.{self.t}.date_format: {fits[0]!r} in {CONFIG_FILE_NAME}"
                    )
            if kind == "unknown_account" and n > staged / 2:
                sample = self.con.execute(
                    f"SELECT val FROM {_PROBLEMS} WHERE tbl = {sql.literal(self.t)} "
                    "AND kind = 'unknown_account' LIMIT 1"
                ).fetchone()
                theirs = self.con.execute("SELECT account_id FROM accounts LIMIT 1").fetchone()
                hints.append(
                    f"{n:,} of {staged:,} rows name an account_id not in accounts (e.g. "
                    f"{sample[0]!r} vs {theirs[0] if theirs else None!r} in accounts): check which "
                    f"column is mapped to account_id"
                )
        return hints

    def _guess_date_format(self, col: str) -> list[str]:
        values = (
            f"(SELECT DISTINCT val FROM {_PROBLEMS} WHERE tbl = {sql.literal(self.t)} AND col = "
            f"{sql.literal(col)} AND kind = 'unparseable' LIMIT 200)"
        )
        counts = self.con.execute(
            "SELECT count(*), "
            + ", ".join(
                f"count(TRY_STRPTIME(val, [{sql.literal(f)}, {sql.literal(f + ' %H:%M:%S')}, "
                f"{sql.literal(f + ' %H:%M')}]))"
                for f in _DATE_HINTS
            )
            + f" FROM {values}"
        ).fetchone()
        return [f for f, n in zip(_DATE_HINTS, counts[1:], strict=True) if n == counts[0] and n > 0]

    def _unusable(self, label: str, reason: str) -> TableQuality:
        _create_empty(self.con, self.table)
        problems = self.extra_problems or [Problem(table=self.t, file=label, reason=reason, rejected=True)]
        return TableQuality(
            table=self.t,
            status="unusable",
            source=label,
            rows_read=self.unusable_rows,
            rows_rejected=self.unusable_rows,
            ignored_columns=self.ignored,
            notes=self.notes,
            problem_summary=[
                ProblemCount(column=p.column, reason=p.reason, rejected=p.rejected, count=1) for p in problems
            ],
            problems=problems[: self.limit],
        )


# ------------------------------------------------------------------------------------------ helpers


def _create_empty(con: duckdb.DuckDBPyConnection, table: Table) -> None:
    cols = ", ".join(f"{sql.ident(c.name)} {sql.DUCKDB_TYPES[c.type]}" for c in table.columns)
    con.execute(f"CREATE TABLE {sql.ident(table.name)} ({cols})")


def _resolve_as_of(
    con: duckdb.DuckDBPyConnection, setting: object, loaded: frozenset[str],
    newest: dict[str, dt.date | None] | None = None,
) -> AsOf:
    """The analysis date: fixed, today, or the newest activity date not after today (one rule for every engine);
    `newest` is what the stored database remembers of each activity column (a restart need not scan them)."""
    from cs_mcp.workspace.backends.duckdb import DuckDBBackend
    from cs_mcp.workspace.warehouse import resolve_as_of

    return resolve_as_of(DuckDBBackend(con, label="workspace"), setting, loaded, ACTIVITY_DATES, newest)


def _progress_reporter(progress: Progress | None) -> Progress:
    def report(fraction: float, message: str) -> None:
        if progress is not None:
            progress(min(max(fraction, 0.0), 1.0), message)

    return report


def _disjoint(ranges: list[tuple[tuple, tuple]]) -> bool:
    """Whether key ranges (start, end), sorted by start, each end below the next one's start."""
    return all(end < nxt for (_, end), (nxt, _) in itertools.pairwise(ranges))


def _names(cols: list[str], limit: int = 30) -> str:
    shown = ", ".join(cols[:limit])
    return shown + (f", ... ({len(cols)} in all)" if len(cols) > limit else "")


def _truncate(value: object, n: int = 80) -> str | None:
    if value is None:
        return None
    s = str(value)
    return s if len(s) <= n else s[: n - 1] + "…"


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
