"""The embedding column: float32 little-endian bytes in Python on every engine.

On SQLite the column is a BLOB holding those bytes. On PostgreSQL it is a pgvector `vector`
(no fixed dimension: each profile records its encoder's), so the database can index and compare
the vectors itself; the code above this module sees the same bytes either way.

Going in, PostgreSQL gets the vector's text form, `[0.25,-1.5,...]` cast to `vector`: every
float32 is written with 9 significant digits, which pgvector's strtof reads back to the same
float32, so a copy between engines is lossless. Coming out, the select asks for
`vector_send(column)`: the binary form (int16 dimension, int16 unused, then big-endian float32s),
about a quarter of the text form's size and parsed with one numpy call instead of a split.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import LargeBinary
from sqlalchemy.dialects.postgresql.base import ischema_names
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Integer, TypeDecorator, UserDefinedType

VECTOR_HEADER_BYTES = 4  # vector_send: int16 dimension, int16 unused


class PgVector(UserDefinedType[Any]):
    """pgvector's `vector` type, for the DDL; values pass through as text (in) and bytes (out)."""

    cache_ok = True

    def get_col_spec(self, **_kw: Any) -> str:
        return "VECTOR"


# Reflection (Alembic's comparison of the migrated schema with the models) knows the type too.
ischema_names["vector"] = PgVector


def to_vector_text(blob: bytes) -> str:
    """float32 little-endian bytes -> pgvector's text form, exactly (see the module docstring)."""
    # 9 significant digits identify every float32 (strtof reads back the same one), and "%.9g"
    # is about 3x faster to format than the shortest repr of its double
    values = np.frombuffer(blob, dtype="<f4").tolist()
    return "[" + ",".join([f"{v:.9g}" for v in values]) + "]"


def from_vector_send(data: bytes) -> bytes:
    """pgvector's binary form -> float32 little-endian bytes."""
    return np.frombuffer(data, dtype=">f4", offset=VECTOR_HEADER_BYTES).astype("<f4").tobytes()


class _EmbeddingOut(FunctionElement[Any]):
    """The column as selected: itself on SQLite, `vector_send(column)` on PostgreSQL."""

    inherit_cache = True
    name = "embedding_out"


class _EmbeddingIn(FunctionElement[Any]):
    """A bound value as written: itself on SQLite, `CAST(value AS vector)` on PostgreSQL."""

    inherit_cache = True
    name = "embedding_in"


class EmbeddingDim(FunctionElement[int]):
    """The number of dimensions of a stored vector: bytes / 4 on SQLite, vector_dims() on
    PostgreSQL."""

    type = Integer()
    inherit_cache = True
    name = "embedding_dim"


@compiles(_EmbeddingOut)
@compiles(_EmbeddingIn)
def _as_is(element: FunctionElement[Any], compiler: Any, **kw: Any) -> str:
    return compiler.process(list(element.clauses)[0], **kw)


@compiles(_EmbeddingOut, "postgresql")
def _vector_send(element: FunctionElement[Any], compiler: Any, **kw: Any) -> str:
    return f"vector_send({compiler.process(list(element.clauses)[0], **kw)})"


@compiles(_EmbeddingIn, "postgresql")
def _cast_to_vector(element: FunctionElement[Any], compiler: Any, **kw: Any) -> str:
    return f"CAST({compiler.process(list(element.clauses)[0], **kw)} AS vector)"


@compiles(EmbeddingDim)
def _blob_dim(element: FunctionElement[int], compiler: Any, **kw: Any) -> str:
    return f"(length({compiler.process(list(element.clauses)[0], **kw)}) / 4)"


@compiles(EmbeddingDim, "postgresql")
def _vector_dims(element: FunctionElement[int], compiler: Any, **kw: Any) -> str:
    return f"vector_dims({compiler.process(list(element.clauses)[0], **kw)})"


def _typed(element: FunctionElement[Any], type_: Any) -> FunctionElement[Any]:
    element.type = type_  # its values go through Embedding's processing
    return element


class Embedding(TypeDecorator[bytes]):
    """A float32 vector, as little-endian bytes: BLOB on SQLite, pgvector on PostgreSQL."""

    impl = LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(PgVector())
        return dialect.type_descriptor(LargeBinary())

    def bind_expression(self, bindvalue: Any) -> ColumnElement[Any]:
        return _typed(_EmbeddingIn(bindvalue), self)

    def column_expression(self, column: Any) -> ColumnElement[Any]:
        return _typed(_EmbeddingOut(column), self)

    def process_bind_param(self, value: bytes | None, dialect: Any) -> Any:
        if value is None or dialect.name != "postgresql":
            return value
        return to_vector_text(bytes(value))

    def process_result_value(self, value: Any, dialect: Any) -> bytes | None:
        if value is None or dialect.name != "postgresql":
            return value
        return from_vector_send(bytes(value))
