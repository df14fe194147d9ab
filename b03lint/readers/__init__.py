"""Readers: turn migration files and SQL text into :mod:`b03lint.operations`."""
