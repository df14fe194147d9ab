"""Models of what PostgreSQL does, for the rules whose verdict depends on it.

Each module states one behaviour of the server as data and small functions, with the
source in PostgreSQL's code or documentation beside it, and a live test in the suite
proves it against a real server (``tests/test_pg_*.py``):

- :mod:`b03lint.pgmodel.typechange`: whether ``ALTER COLUMN ... TYPE`` rewrites the table,
  and whether it can reject or change existing values.

Nothing here imports the rest of b03lint but :mod:`b03lint.sqltypes`.
"""
