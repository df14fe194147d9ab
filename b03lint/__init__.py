"""b03lint: keeps a PostgreSQL schema baseline and its Alembic migration chain honest."""

__version__ = "0.1.0"
