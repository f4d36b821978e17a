"""The workspace's queries, one module per table family: the domain calls these and sees no SQL.

Each function takes the workspace and returns records or column arrays (numeric NULL as NaN, text NULL
as None); every value reaches the SQL as a bound parameter.
"""
