"""The replay of enum types and sequences, for :class:`b03lint.schema.replay.Folder`:
``CREATE``/``ALTER``/``DROP TYPE`` of enums and ``CREATE``/``ALTER``/``DROP SEQUENCE``, as
PostgreSQL does them (a renamed type reaches the columns of that type and the defaults that
cast to it; a renamed enum value, the defaults that hold it; a renamed sequence, the
defaults that draw from it; a drop refuses, without ``CASCADE``, what uses the object)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from b03lint.operations import (
    AlterEnumAddValue,
    AlterEnumRenameValue,
    AlterSequenceOwner,
    CreateEnumType,
    CreateSequence,
    DropSequence,
    DropType,
    Operation,
    RenameSequence,
    RenameType,
)
from b03lint.schema import depends
from b03lint.schema.model import Origin, Schema, Sequence, Table, quote_ident, quote_literal


class Host(Protocol):
    """What these functions use of the running fold."""

    schema: Schema
    unknown_tables: set[str]

    def origin(self, op: Operation) -> Origin: ...

    def conflict(self, op: Operation, message: str, obj: str | None,
                 also: Iterable[str] = ()) -> None: ...

    def absent(self, op: Operation, name: str, message: str, table: bool = False) -> None: ...

    def drop_dependents(self, deps: depends.Dependents, cascade: bool) -> None: ...

    def remove_column(self, t: Table, name: str, cascade: bool) -> None: ...


def seq_name(name: str, schema: str | None) -> str:
    """A sequence's name after the search path (``public.`` dropped, other schemas kept)."""
    return depends.bare(f"{schema}.{name}" if schema and "." not in name else name)


def _type_ref(type_name: str) -> str:
    base = type_name.removesuffix("[]")
    return ".".join(quote_ident(p) for p in base.split("."))


def create_enum(folder: Host, op: CreateEnumType) -> None:
    folder.schema.enums[op.name] = op.values


def enum_add_value(folder: Host, op: AlterEnumAddValue) -> None:
    s = folder.schema
    values = list(s.enums.get(op.name, ()))
    if op.value not in values:
        anchor = op.before or op.after
        if anchor in values:
            at = values.index(anchor) + (1 if op.after else 0)
            values.insert(at, op.value)
        else:
            values.append(op.value)
    s.enums[op.name] = tuple(values)


def enum_rename_value(folder: Host, op: AlterEnumRenameValue) -> None:
    from b03lint.schema.expressions import string_literal

    s = folder.schema
    values = s.enums.get(op.name)
    if values is None:
        return  # a type the chain did not create as an enum: not modelled
    if op.value not in values:
        folder.conflict(op, f"{op.value!r} is not a value of type {op.name}", op.name)
        return
    if op.new_value in values:
        folder.conflict(op, f"{op.new_value!r} is already a value of type {op.name}",
                        op.name)
        return
    s.enums[op.name] = tuple(op.new_value if v == op.value else v for v in values)
    # a default of that type holds the value itself: it prints under its new label
    for t, c in depends.of_type(s, op.name):
        col = s.tables[t].columns[c]
        if col.default is not None and string_literal(col.default) == op.value:
            col.default = f"{quote_literal(op.new_value)}::{_type_ref(col.type or '')}"


def rename_type(folder: Host, op: RenameType) -> None:
    from b03lint.schema.expressions import rename_type as rename_in

    s = folder.schema
    if op.name not in s.enums:
        return  # a domain or composite type: not modelled
    if op.new_name in s.enums:
        folder.conflict(op, f"type {op.new_name} already exists", op.new_name)
        return
    users = depends.of_type(s, op.name)
    s.enums = {(op.new_name if n == op.name else n): v for n, v in s.enums.items()}
    for name, c in users:
        col = s.tables[name].columns[c]
        col.type = op.new_name + ("[]" if (col.type or "").endswith("[]") else "")
    for t in s.tables.values():
        for col in t.columns.values():
            if col.default is not None:
                col.default = rename_in(col.default, op.name, op.new_name)


def drop_type(folder: Host, op: DropType) -> None:
    s = folder.schema
    if op.name not in s.enums:
        return  # not an enum we know: a domain or composite type, or from elsewhere
    users = depends.of_type(s, op.name)
    if users and not op.cascade:
        folder.conflict(op, f"cannot drop type {op.name}: "
                        + ", ".join(f"column {t}.{c}" for t, c in users)
                        + " depend(s) on it (PostgreSQL requires CASCADE)", op.name,
                        also=[t for t, _ in users])
        return
    del s.enums[op.name]
    for t, c in users:
        folder.remove_column(s.tables[t], c, cascade=True)


def create_sequence(folder: Host, op: CreateSequence) -> None:
    s = folder.schema
    name = seq_name(op.name, op.schema)
    if name in s.sequences:
        if not op.if_not_exists:
            folder.conflict(op, f"sequence {name} already exists", name)
        return
    s.sequences[name] = Sequence(name, None, folder.origin(op))
    if op.owned_by is not None:
        sequence_owner(folder, AlterSequenceOwner(loc=op.loc, name=op.name,
                                                  owned_by=op.owned_by, schema=op.schema))


def sequence_owner(folder: Host, op: AlterSequenceOwner) -> None:
    s = folder.schema
    name = seq_name(op.name, op.schema)
    seq = s.sequences.get(name)
    if seq is None:
        folder.absent(op, name, f"sequence {name} does not exist")
        return
    if op.owned_by is None:
        seq.owned_by = None
        return
    table, _, column = op.owned_by.rpartition(".")
    t = depends.find_table(s, table)
    if t is None or column not in t.columns:
        folder.conflict(op, f"column {op.owned_by} does not exist", op.owned_by,
                        also=[depends.bare(table)])
        return
    seq.owned_by = (t.name, column)


def rename_sequence(folder: Host, op: RenameSequence) -> None:
    s = folder.schema
    name = seq_name(op.name, op.schema)
    seq = s.sequences.pop(name, None)
    if seq is None:
        folder.absent(op, name, f"sequence {name} does not exist")
        return
    new = seq_name(op.new_name, op.schema)
    seq.name = new
    s.sequences[new] = seq
    # a default holds the sequence's OID: it prints with the new name
    for t in s.tables.values():
        for col in t.columns.values():
            if depends.sequence_of(col) == name:
                col.default = f"nextval('{new}'::regclass)"


def drop_sequence(folder: Host, op: DropSequence) -> None:
    s = folder.schema
    name = seq_name(op.name, op.schema)
    if name not in s.sequences:
        if not op.if_exists:
            folder.absent(op, name, f"sequence {name} does not exist")
        return
    users = depends.of_sequence(s, name)
    if users and not op.cascade:
        folder.conflict(op, f"cannot drop sequence {name}: "
                        + ", ".join(f"the default of {t}.{c}" for t, c in users)
                        + " depend(s) on it (PostgreSQL requires CASCADE)", name,
                        also=[t for t, _ in users])
        return
    del s.sequences[name]
    folder.drop_dependents(depends.Dependents(blocking_defaults=users), cascade=True)


#: the operations this module folds, and how
HANDLERS: dict[type[Operation], Callable[[Any, Any], None]] = {
    CreateEnumType: create_enum, AlterEnumAddValue: enum_add_value,
    AlterEnumRenameValue: enum_rename_value, RenameType: rename_type, DropType: drop_type,
    CreateSequence: create_sequence, AlterSequenceOwner: sequence_owner,
    RenameSequence: rename_sequence, DropSequence: drop_sequence,
}
