"""DuckDB building blocks of the loader: the connection, identifiers, and parsers of raw values as SQL."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from cs_mcp.workspace.schema import Column, ColumnType

if TYPE_CHECKING:
    import duckdb

DUCKDB_TYPES: dict[ColumnType, str] = {
    "string": "VARCHAR",
    "float": "DOUBLE",
    "integer": "BIGINT",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "boolean": "BOOLEAN",
}

NULL_TOKENS = ("null", "nan", "none", "n/a", "na", "#n/a", "nat", "-")
"""Spellings of 'no value' in typed columns: missing, not unparseable."""
TRUE_TOKENS = ("true", "t", "yes", "y", "1")
FALSE_TOKENS = ("false", "f", "no", "n", "0")
EARLIEST, LATEST = "1900-01-01", "2100-12-31"
"""Dates outside these bounds are out of range (typos such as 0204-03-01)."""

_INTEGER_SOURCES = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "HUGEINT",
    "UHUGEINT",
}
_NUMERIC_SOURCES = _INTEGER_SOURCES | {"FLOAT", "DOUBLE", "REAL"}
_TEMPORAL_SOURCES = {"DATE", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "DATETIME"}
# thousands separators and a currency sign, as spreadsheets write money: "$1,200.50", "€ 300"
_MONEY_RE = r"\s*[-+]?\s*[$€£¥]?\s*(\d{1,3}(,\d{3})+|\d+)(\.\d+)?\s*"


def connect(search_path: Path | None, database: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection (in memory, or on a database file) whose relative paths resolve against `search_path`."""
    import duckdb

    con = duckdb.connect(str(database) if database is not None else ":memory:")
    # DuckDB draws a progress bar on stdout for long queries: on stdio, stdout is the protocol
    con.execute("SET enable_progress_bar = false")
    # row numbers in the quality report are stage row ids: they must follow file order
    con.execute("SET preserve_insertion_order = true")
    if search_path is not None:
        con.execute(f"SET file_search_path = {literal(str(search_path))}")
    return con


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def literal_list(values: tuple[str, ...] | list[str]) -> str:
    return "(" + ", ".join(literal(v) for v in values) + ")"


def one_of(expr: str, values: tuple[str, ...] | list[str]) -> str:
    """Whether `expr` is one of `values` (false for NULL), for staging expressions. Not `IN (...)` nor
    `list_contains`: DuckDB plans a constant list of more than a few values as a join, and a join under the
    staging INSERT stores rows out of file order (then the duplicate-key check must aggregate every key)."""
    whens = " ".join(f"WHEN {literal(v)} THEN true" for v in values)
    return f"(CASE {expr} {whens} ELSE false END)"


def match_key(name: str) -> str:
    """Key under which a source column matches a canonical one: 'Account ID' ~ 'account_id'."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def snake_case(name: str) -> str:
    """A safe lower-case identifier for a custom column: 'MonthlyCharges' -> 'monthly_charges'."""
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    s = re.sub(r"[^0-9a-zA-Z]+", "_", s).strip("_").lower()
    if not s or s[0].isdigit():
        s = "c_" + s
    return s


def base_type(duckdb_type: str) -> str:
    return duckdb_type.split("(")[0].strip().upper()


def parses_directly(col: Column, source_type: str) -> bool:
    """True when a source of this type converts to the column's type without a possible failure."""
    src = base_type(source_type)
    return {
        "string": True,
        "float": src in _NUMERIC_SOURCES or src == "DECIMAL",
        "integer": src in _INTEGER_SOURCES,
        "date": src in _TEMPORAL_SOURCES,
        "timestamp": src in _TEMPORAL_SOURCES,
        "boolean": src == "BOOLEAN",
    }[col.type]


def cleaned(expr: str) -> str:
    """A source value as trimmed text, empty strings as NULL."""
    return f"NULLIF(TRIM(CAST({expr} AS VARCHAR)), '')"


def value_mapped(text: str, mapping: dict[str, list[str]] | None) -> str:
    """Apply a `values:` mapping (canonical value -> source spellings, case-insensitive) to text."""
    if not mapping:
        return text
    whens = " ".join(
        f"WHEN {literal(src.strip().lower())} THEN {literal(canonical)}"
        for canonical, sources in mapping.items()
        for src in sources
    )
    return f"(CASE lower({text}) {whens} ELSE {text} END)"


def categorical(text: str, allowed: tuple[str, ...]) -> str:
    """Lower-case a categorical value; 'Executive Sponsor' and 'CROSS_SELL' find their canonical spelling."""
    lowered = f"lower({text})"
    fuzzy = " ".join(f"WHEN {literal(match_key(a))} THEN {literal(a)}" for a in allowed)
    return (
        f"(CASE WHEN {one_of(lowered, allowed)} THEN {lowered} "
        f"ELSE COALESCE(CASE regexp_replace({lowered}, '[^a-z0-9]', '', 'g') {fuzzy} END, {lowered}) END)"
    )


def _date_formats(date_format: str) -> list[str]:
    """The configured format, and the same followed by a time of day when it has none."""
    if "%H" in date_format:
        return [date_format]
    return [date_format, date_format + " %H:%M:%S", date_format + " %H:%M"]


def parse_text(text: str, col: Column, date_format: str | None) -> str:
    """SQL giving the typed value of a text expression, NULL when it does not parse."""
    t = col.type
    if t == "string":
        return text
    if t == "float":
        d = f"TRY_CAST({text} AS DOUBLE)"
        money = f"TRY_CAST(regexp_replace({text}, '[\\s$€£¥,]', '', 'g') AS DOUBLE)"
        return (
            f"(CASE WHEN isfinite({d}) THEN {d} "
            f"WHEN regexp_full_match({text}, {literal(_MONEY_RE)}) THEN {money} END)"
        )
    if t == "integer":
        d = parse_text(text, Column(col.name, "float"), None)
        return f"(CASE WHEN abs({d}) < 9e15 AND {d} = trunc({d}) THEN CAST({d} AS BIGINT) END)"
    if t == "boolean":
        low = f"lower(TRIM({text}))"
        return (
            f"(CASE WHEN {one_of(low, TRUE_TOKENS)} THEN true "
            f"WHEN {one_of(low, FALSE_TOKENS)} THEN false END)"
        )
    target = DUCKDB_TYPES[t]
    iso = f"TRY_CAST({text} AS {target})"
    if not date_format:
        return iso
    fmts = "[" + ", ".join(literal(f) for f in _date_formats(date_format)) + "]"
    return f"COALESCE(CAST(TRY_STRPTIME(TRIM({text}), {fmts}) AS {target}), {iso})"


def parse_source(
    expr: str, source_type: str, col: Column, date_format: str | None, values: dict[str, list[str]] | None
) -> tuple[str, str | None]:
    """(typed expression, raw-text expression kept for reporting or None when parsing cannot fail)."""
    target = DUCKDB_TYPES[col.type]
    if values and base_type(source_type) == "BOOLEAN":
        # the CSV sniffer reads Yes/No as BOOLEAN: let `churned: ["Yes"]` still match
        values = {k: [_boolean_spelling(v) for v in vs] for k, vs in values.items()}
    if col.type == "string":
        text = value_mapped(cleaned(expr), values)
        return (categorical(text, col.allowed) if col.allowed else text), None
    if parses_directly(col, source_type) and not values:
        typed = f"TRY_CAST({expr} AS {target})"
        if col.type == "float":
            typed = f"(CASE WHEN isfinite({typed}) THEN {typed} END)"
        return typed, None
    raw = cleaned(expr)
    return parse_text(value_mapped(raw, values), col, date_format), raw


def _boolean_spelling(value: str) -> str:
    low = value.strip().lower()
    return "true" if low in TRUE_TOKENS else "false" if low in FALSE_TOKENS else value


def out_of_range(expr: str, col: Column) -> str | None:
    """SQL condition true when a typed value lies outside the column's bounds."""
    if col.type in ("date", "timestamp"):
        target = DUCKDB_TYPES[col.type]
        return f"({expr} < {target} {literal(EARLIEST)} OR {expr} > {target} {literal(LATEST)})"
    conds = []
    if col.min_value is not None:
        conds.append(f"{expr} < {col.min_value!r}")
    if col.max_value is not None:
        conds.append(f"{expr} > {col.max_value!r}")
    return "(" + " OR ".join(conds) + ")" if conds else None


def is_null_token(raw: str) -> str:
    return one_of(f"lower({raw})", NULL_TOKENS)


def source_reader(path: Path, encoding: str | None = None, row_numbers: bool = False) -> str:
    """SQL table function reading one data file; CSV as all-VARCHAR so bad values can be reported.

    `row_numbers`: a Parquet file read with its 0-based `file_row_number` column, by its absolute path (the
    reader of a view that outlives this connection's search path)."""
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        if row_numbers:
            return f"read_parquet({literal(str(path.resolve()))}, file_row_number = true)"
        return f"read_parquet({literal(str(path))})"
    options = (
        "all_varchar = true, header = true, store_rejects = true, "
        "rejects_table = '_cs_rejects', rejects_scan = '_cs_reject_scans'"
    )
    if encoding:
        options += f", encoding = {literal(encoding)}"
    if name.endswith((".tsv", ".tsv.gz", ".tab")):
        options += ", delim = '\\t'"
    return f"read_csv({literal(str(path))}, {options})"


def is_csv(path: Path) -> bool:
    return not path.name.lower().endswith((".parquet", ".pq"))
