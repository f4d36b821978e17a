"""The workspace's queries, one module per table family: the domain calls these and sees no SQL.

Each function takes the workspace and returns records or column arrays (numeric NULL as NaN, text NULL
as None); every value reaches the SQL as a bound parameter.

Written once in DuckDB's dialect and run through the query layer (`ws.columns`, `ws.records`, `ws.rows`,
`ws.scalar`, see `cs_mcp.workspace.sql`), a query runs on every engine `data.url` can name: the text
holds only code and canonical names, list values are bound as arrays (`unnest(CAST($ids AS VARCHAR[]))`).
"""
