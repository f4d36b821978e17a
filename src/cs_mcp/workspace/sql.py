"""The query layer: SQL written once in DuckDB's dialect, transpiled per engine by sqlglot, run with bound values.

A query is DuckDB SQL with `$name` parameters. DuckDB runs the text as written; for any other engine the
text is parsed once, its columns are typed against the workspace's schema, the per-dialect replacements
below are applied, and the generated text is cached per (text, dialect, schema). Values are always bound:
`%(name)s` for psycopg, `:name` for Spark, `$name` for DuckDB; a list value is bound as an array and read
with `unnest(CAST($ids AS VARCHAR[]))`, which becomes `UNNEST(CAST(%(ids)s AS TEXT[]))` on PostgreSQL and
`EXPLODE(CAST(:ids AS ARRAY<STRING>))` on Spark.

Per-dialect replacements (each tested in tests/backends/test_sql_layer.py):
- every engine but DuckDB: `CAST(unnest(x) AS T)` becomes `unnest(CAST(x AS T[]))` (Spark refuses a
  generator inside an expression).
- PostgreSQL: `TRY_CAST(text AS T)` becomes a CASE that casts only text matching the type's pattern (there
  is no TRY_CAST); `arg_max(a, b)` becomes `(ARRAY_AGG(a ORDER BY b DESC) FILTER (WHERE b IS NOT NULL))[1]`;
  `contains(a, b)` becomes `POSITION(b IN a) > 0`; `make_date(y, m, d)` stays MAKE_DATE (sqlglot writes
  DATE_FROM_PARTS); `GROUP BY ALL` lists the non-aggregate select items; `%` in
  string literals and the modulo operator are escaped for psycopg's `%(name)s` paramstyle.
- Spark: `date - date` (typed from the schema) becomes `DATEDIFF(a, b)` (Spark gives an interval);
  `date_diff('minute', a, b)` truncates both sides to the minute first (DuckDB counts boundaries crossed);
  decimal literals become DOUBLE (Spark keeps 6 decimals of a DECIMAL quotient, DuckDB divides in double);
  `percentile_cont(q) WITHIN GROUP (ORDER BY x)` becomes the exact `PERCENTILE(x, q)` (sqlglot would pick
  the approximate PERCENTILE_APPROX).
- `jaro_winkler_similarity` exists only in DuckDB: compiling it for another engine raises `EngineLacksFunction`,
  and the caller ranks in Python (`jaro_winkler` below gives DuckDB's figures).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from sqlglot import exp

Columns = dict[str, "np.ndarray"]
"""Column name -> numpy array: numbers as float64 (NaN for NULL), dates as datetime64[D] and timestamps as
datetime64[us] (NaT for NULL), text and anything else as object arrays (None for NULL)."""

Schema = tuple[tuple[str, tuple[tuple[str, str], ...]], ...]
"""(table, ((column, SQL type), ...)) pairs: hashable, so compiled text can be cached per schema."""

LIVE_DIALECTS = ("duckdb", "postgres", "spark")
TRANSLATED_DIALECTS = ("snowflake", "bigquery", "trino")
"""Engines whose generated SQL is only checked to parse, not run."""

DUCKDB_ONLY_FUNCTIONS = ("jarowinklersimilarity",)
"""sqlglot keys of functions only DuckDB has (jaro_winkler_similarity)."""


class EngineLacksFunction(NotImplementedError):
    """A query uses a function the target engine does not have and no SQL replacement exists."""


# ------------------------------------------------------------------------------------------ compiling


def compile_sql(text: str, dialect: str, schema: Schema = ()) -> str:
    """The text of a DuckDB-dialect query for `dialect` (DuckDB: unchanged)."""
    if dialect == "duckdb":
        return text
    return _compile(text, dialect, schema)


@lru_cache(maxsize=512)
def _parse(text: str) -> exp.Expression:
    import sqlglot

    return sqlglot.parse_one(text, read="duckdb")


@lru_cache(maxsize=1024)
def _compile(text: str, dialect: str, schema: Schema) -> str:
    tree = _parse(text).copy()
    lacking = sorted({n.key for n in tree.walk() if n.key in DUCKDB_ONLY_FUNCTIONS})
    if lacking:
        raise EngineLacksFunction(f"{dialect} has no {', '.join(lacking)}: rank in Python instead")
    if schema:
        tree = _typed(tree, schema)
    for transform in _COMMON + _TRANSFORMS.get(dialect, ()):
        tree = tree.transform(transform, copy=False)
    return tree.sql(dialect=dialect)


def _typed(tree: exp.Expression, schema: Schema) -> exp.Expression:
    """The tree with columns qualified and every node typed, when the schema resolves it (else as parsed)."""
    from sqlglot.optimizer.annotate_types import annotate_types
    from sqlglot.optimizer.qualify import qualify

    mapping = {table: dict(cols) for table, cols in schema}
    try:
        qualified = qualify(
            tree.copy(), schema=mapping or None, dialect="duckdb", quote_identifiers=False,
            identify=False, validate_qualify_columns=False, expand_stars=False,
        )
        return annotate_types(qualified, schema=mapping or None, dialect="duckdb")
    except Exception:  # sqlglot cannot qualify every query: the untyped tree still transpiles
        return tree


def schema_of(tables: Mapping[str, Mapping[str, str]]) -> Schema:
    return tuple((t, tuple(cols.items())) for t, cols in sorted(tables.items()))


# --------------------------------------------------------------------------------------- replacements


def _unnest_cast(node: exp.Expression) -> exp.Expression:
    """CAST(unnest(x) AS T) -> unnest(CAST(x AS T[]))."""
    from sqlglot import exp

    if not isinstance(node, exp.Cast):
        return node
    inner = node.this
    if isinstance(inner, exp.Unnest) and len(inner.expressions) == 1:
        values = inner.expressions[0]
    elif isinstance(inner, exp.Explode):  # how sqlglot reads DuckDB's unnest() in a select list
        values = inner.this
    else:
        return node
    array_type = exp.DataType(this=exp.DataType.Type.ARRAY, expressions=[node.to.copy()], nested=True)
    return inner.__class__(**{**inner.args, ("expressions" if isinstance(inner, exp.Unnest) else "this"):
                              [exp.Cast(this=values.copy(), to=array_type)] if isinstance(inner, exp.Unnest)
                              else exp.Cast(this=values.copy(), to=array_type)})


_TRY_CAST_PATTERNS = {
    "DOUBLE": r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$",
    "FLOAT": r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$",
    "BIGINT": r"^\s*[-+]?\d{1,18}\s*$",
    "INT": r"^\s*[-+]?\d{1,9}\s*$",
    "DATE": r"^\s*\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])\s*$",
    "TIMESTAMP": r"^\s*\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?\s*$",
    "BOOLEAN": r"^\s*(?i:true|false|t|f|yes|no|y|n|1|0|on|off)\s*$",
}


def _pg_try_cast(node: exp.Expression) -> exp.Expression:
    """TRY_CAST(x AS T) -> CASE WHEN CAST(x AS TEXT) ~ pattern THEN CAST(x AS T) END (PostgreSQL)."""
    from sqlglot import exp

    if not isinstance(node, exp.TryCast):
        return node
    target = node.to.this.value if isinstance(node.to.this, exp.DataType.Type) else str(node.to.this)
    pattern = _TRY_CAST_PATTERNS.get(target.upper())
    cast = exp.Cast(this=node.this.copy(), to=node.to.copy())
    if pattern is None or target.upper() in ("TEXT", "VARCHAR"):
        return cast
    as_text = exp.Cast(this=node.this.copy(), to=exp.DataType.build("TEXT"))
    guard = exp.RegexpLike(this=as_text, expression=exp.Literal.string(pattern))
    if target.upper() in ("DATE", "TIMESTAMP"):
        # the pattern admits 2024-02-30, which PostgreSQL refuses to cast: check the day against the month
        cast = exp.Case(ifs=[exp.If(this=_pg_day_exists(as_text), true=cast)])
    return exp.Case(ifs=[exp.If(this=guard, true=cast)])


def _pg_day_exists(text: exp.Expression) -> exp.Expression:
    import sqlglot

    check = sqlglot.parse_one(
        "CAST(SUBSTRING(TRIM(__t) FROM 9 FOR 2) AS INT) <= EXTRACT(DAY FROM CAST(SUBSTRING(TRIM(__t) FROM 1 FOR 7) "
        "|| '-01' AS DATE) + INTERVAL '1 month' - INTERVAL '1 day')", read="postgres")
    return check.transform(lambda n: text.copy() if n.name == "__t" and n.key == "column" else n)


def _pg_arg_max(node: exp.Expression) -> exp.Expression:
    from sqlglot import exp

    if not isinstance(node, (exp.ArgMax, exp.ArgMin)):
        return node
    value, key = node.this.copy(), node.expression.copy()
    ordered = exp.Ordered(this=key.copy(), desc=isinstance(node, exp.ArgMax))
    agg = exp.ArrayAgg(this=exp.Order(this=value, expressions=[ordered]))
    filtered = exp.Filter(this=agg, expression=exp.Where(this=exp.Not(this=exp.Is(this=key, expression=exp.Null()))))
    # sqlglot writes DuckDB-parsed brackets 1-based: index 0 here is PostgreSQL's [1]
    return exp.Bracket(this=exp.Paren(this=filtered), expressions=[exp.Literal.number(0)])


def _pg_make_date(node: exp.Expression) -> exp.Expression:
    """make_date(y, m, d): sqlglot writes DATE_FROM_PARTS, which PostgreSQL does not have."""
    from sqlglot import exp

    if isinstance(node, exp.DateFromParts):
        parts = [node.args[k].copy() for k in ("year", "month", "day")]
        return exp.Anonymous(this="MAKE_DATE", expressions=parts)
    return node


def _pg_contains(node: exp.Expression) -> exp.Expression:
    from sqlglot import exp

    if isinstance(node, exp.Contains):
        return exp.GT(this=exp.func("STRPOS", node.this.copy(), node.expression.copy()),
                      expression=exp.Literal.number(0))
    return node


def _group_by_all(node: exp.Expression) -> exp.Expression:
    """GROUP BY ALL -> GROUP BY the select items that hold no aggregate."""
    from sqlglot import exp

    if not isinstance(node, exp.Select):
        return node
    group = node.args.get("group")
    if group is None or not group.args.get("all"):
        return node
    keys = [
        (e.this if isinstance(e, exp.Alias) else e).copy()
        for e in node.expressions
        if not any(isinstance(n, exp.AggFunc) for n in e.walk())
    ]
    node.set("group", exp.Group(expressions=keys) if keys else None)
    return node


def _pg_percent_escapes(node: exp.Expression) -> exp.Expression:
    """psycopg reads `%` as the start of a placeholder: double it in literals, and write modulo as MOD()."""
    from sqlglot import exp

    if isinstance(node, exp.Literal) and node.is_string and "%" in node.this:
        return exp.Var(this="'" + node.this.replace("'", "''").replace("%", "%%") + "'")
    if isinstance(node, exp.Mod):
        return exp.Anonymous(this="MOD", expressions=[node.this.copy(), node.expression.copy()])
    return node


def _spark_date_diff(node: exp.Expression) -> exp.Expression:
    """date - date -> DATEDIFF(a, b): Spark subtracts dates to an interval, DuckDB and PostgreSQL to days."""
    from sqlglot import exp

    if isinstance(node, exp.Sub) and _is_date(node.left) and _is_date(node.right):
        return exp.Anonymous(this="DATEDIFF", expressions=[node.left.copy(), node.right.copy()])
    return node


def _is_date(node: exp.Expression) -> bool:
    from sqlglot import exp

    t = getattr(node, "type", None)
    return t is not None and t.this == exp.DataType.Type.DATE


def _spark_boundary_diff(node: exp.Expression) -> exp.Expression:
    """date_diff('minute', a, b) counts minute boundaries in DuckDB, whole minutes in Spark: truncate first."""
    from sqlglot import exp

    if not isinstance(node, exp.DateDiff) or node.args.get("_truncated"):
        return node
    unit = node.args.get("unit")
    name = unit.name.upper() if unit is not None else "DAY"
    if name not in ("MINUTE", "HOUR", "SECOND"):
        return node
    for arg in ("this", "expression"):
        node.set(arg, exp.TimestampTrunc(this=node.args[arg].copy(), unit=exp.var(name)))
    node.set("_truncated", True)
    return node


def _spark_double_literals(node: exp.Expression) -> exp.Expression:
    from sqlglot import exp

    if isinstance(node, exp.Literal) and not node.is_string and any(c in node.this for c in ".eE"):
        return exp.Cast(this=node.copy(), to=exp.DataType.build("DOUBLE"))
    return node


def _spark_exact_percentile(node: exp.Expression) -> exp.Expression:
    from sqlglot import exp

    if isinstance(node, exp.WithinGroup) and isinstance(node.this, exp.PercentileCont):
        order = node.expression.expressions[0]
        return exp.Anonymous(this="PERCENTILE", expressions=[order.this.copy(), node.this.this.copy()])
    return node


_COMMON = (_unnest_cast,)
_TRANSFORMS = {
    "postgres": (_pg_try_cast, _pg_arg_max, _pg_contains, _pg_make_date, _group_by_all, _pg_percent_escapes),
    "spark": (_spark_date_diff, _spark_boundary_diff, _spark_double_literals, _spark_exact_percentile),
}


# ------------------------------------------------------------------------------------------ parameters


def bind_value(value: Any) -> Any:
    """A parameter value as every driver accepts it: sequences as lists, numpy scalars as Python ones."""
    if isinstance(value, (list, tuple, set, frozenset)):
        return [bind_value(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    return value


def bind(params: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: bind_value(v) for k, v in (params or {}).items()}


# ------------------------------------------------------------------------------------------- results


def columns_from_rows(names: Sequence[str], rows: Iterable[Sequence[Any]]) -> Columns:
    """Row tuples (as a DB-API driver returns them) -> the columnar result contract."""
    materialized = list(rows)
    return {name: column_array([r[i] for r in materialized]) for i, name in enumerate(names)}


def column_array(values: list[Any]) -> np.ndarray:
    """One result column as an array: kind taken from its first non-NULL value."""
    import numpy as np

    first = next((v for v in values if v is not None), None)
    if isinstance(first, bool) or isinstance(first, (int, float, Decimal)) or hasattr(first, "dtype"):
        return np.array([np.nan if v is None else float(v) for v in values], dtype=float)
    if isinstance(first, dt.datetime):
        return np.array([np.datetime64("NaT") if v is None else np.datetime64(v.replace(tzinfo=None), "us")
                         for v in values], dtype="datetime64[us]")
    if isinstance(first, dt.date):
        return np.array([np.datetime64("NaT") if v is None else np.datetime64(v, "D") for v in values],
                        dtype="datetime64[D]")
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def normalize_numpy(raw: Mapping[str, Any], types: Mapping[str, str]) -> Columns:
    """DuckDB's fetchnumpy (masked arrays) -> the columnar result contract; `types` are DuckDB type names."""
    import numpy as np

    out: Columns = {}
    for name, col in raw.items():
        kind = col.dtype.kind
        if kind in "iufb":
            out[name] = np.ma.filled(np.ma.asarray(col).astype(float), np.nan)
        elif kind == "M":
            unit = "D" if types.get(name, "").upper() == "DATE" else "us"
            out[name] = np.ma.filled(np.ma.asarray(col), np.datetime64("NaT")).astype(f"datetime64[{unit}]")
        else:
            text = np.array(np.ma.getdata(col), dtype=object)
            if np.ma.isMaskedArray(col):
                text[np.ma.getmaskarray(col)] = None
            out[name] = text
    return out


# ------------------------------------------------------------------------------------ jaro-winkler


def jaro_winkler(a: str, b: str, prefix_scale: float = 0.1) -> float:
    """Jaro-Winkler similarity as DuckDB's jaro_winkler_similarity computes it (0..1)."""
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0
    window = max(max(len(a), len(b)) // 2 - 1, 0)
    a_hit, b_hit = [False] * len(a), [False] * len(b)
    matches = 0
    for i, ch in enumerate(a):
        for j in range(max(0, i - window), min(len(b), i + window + 1)):
            if not b_hit[j] and b[j] == ch:
                a_hit[i] = b_hit[j] = True
                matches += 1
                break
    if not matches:
        return 0.0
    b_matched = [b[j] for j in range(len(b)) if b_hit[j]]
    transpositions = sum(1 for ch, other in zip((a[i] for i in range(len(a)) if a_hit[i]), b_matched,
                                                strict=True) if ch != other) // 2
    m = float(matches)
    jaro = (m / len(a) + m / len(b) + (m - transpositions) / m) / 3
    if jaro <= 0.7:  # Winkler's boost threshold: a common prefix counts only for strings already similar
        return jaro
    prefix = 0
    for x, y in zip(a[:4], b[:4], strict=False):
        if x != y:
            break
        prefix += 1
    return jaro + prefix * prefix_scale * (1 - jaro)


# --------------------------------------------------------------------------------------- workspace


class QueryMethods:
    """What a workspace offers its readers: run a DuckDB-dialect query on whichever engine holds the data."""

    backend: Any
    query_schema: Schema
    _query_lock: threading.Lock

    def columns(self, text: str, **params: Any) -> Columns:
        """The query's result as arrays (aggregate in SQL: only per-account or per-group rows come back)."""
        return self.backend.columns(compile_sql(text, self.backend.dialect, self.query_schema), bind(params))

    def rows(self, text: str, **params: Any) -> list[tuple]:
        return self.backend.rows(compile_sql(text, self.backend.dialect, self.query_schema), bind(params))[1]

    def records(self, text: str, **params: Any) -> list[dict[str, Any]]:
        names, rows = self.backend.rows(compile_sql(text, self.backend.dialect, self.query_schema), bind(params))
        return [dict(zip(names, r, strict=True)) for r in rows]

    def scalar(self, text: str, **params: Any) -> Any:
        rows = self.rows(text, **params)
        return rows[0][0] if rows else None

    @property
    def dialect(self) -> str:
        return self.backend.dialect
