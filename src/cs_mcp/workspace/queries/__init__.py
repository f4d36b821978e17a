"""Queries by table family, each written once in DuckDB's dialect and run on any engine by the query layer.

A query is a function `(ws, typed arguments) -> Columns | list[dict]` that builds its SQL text (only code
and canonical names in the text; every value bound as a `$name` parameter) and calls `ws.columns`,
`ws.records`, `ws.rows` or `ws.scalar`. The domain calls these functions and holds no SQL text.
"""
