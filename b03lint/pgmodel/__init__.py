"""Models of what PostgreSQL does, for the rules whose verdict depends on it.

Each module states one behaviour of the server as data and small functions, with the
source in PostgreSQL's code or documentation beside it, and a live test in the suite
proves it against a real server (``tests/test_pg_*.py``):

- :mod:`b03lint.pgmodel.typechange`: whether ``ALTER COLUMN ... TYPE`` rewrites the table,
  and whether it can reject or change existing values;
- :mod:`b03lint.pgmodel.locks`: what every operation locks, rewrites, scans and waits for,
  by server version (one table; ``tests/test_pg_locks.py``);
- :mod:`b03lint.pgmodel.volatility`: whether a default is volatile
  (``tests/test_pg_volatility.py``).

Nothing here imports the rest of b03lint but the vocabulary (:mod:`b03lint.operations`),
:mod:`b03lint.sqltypes` and, for type hints only, the schema model.
"""
