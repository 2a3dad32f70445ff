"""Turn pydantic validation failures into :class:`InvalidInputError` naming the field."""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict, ValidationError

from ._errors import InvalidInputError

__all__ = ["Record", "invalid_input_from"]


def invalid_input_from(
    err: ValidationError, *, prefix: str = "", product_id: str | None = None
) -> InvalidInputError:
    """Build an :class:`InvalidInputError` from the first problem of a ``ValidationError``."""
    first = err.errors()[0]
    loc = ".".join(str(part) for part in first.get("loc", ()))
    inner = (first.get("ctx") or {}).get("error")
    if isinstance(inner, InvalidInputError):
        # A nested record's own __init__ already produced a typed error: keep its field.
        loc = ".".join(p for p in (loc, inner.field or "") if p)
        msg = str(inner).split(": ", 1)[-1]
        product_id = product_id or inner.product_id
    else:
        msg = first.get("msg", "invalid value")
    field = f"{prefix}.{loc}" if prefix and loc else (prefix or loc or None)
    extra = len(err.errors()) - 1
    more = f" (and {extra} more problem{'s' if extra > 1 else ''})" if extra > 0 else ""
    where = f"{err.title} field {field!r}" if field else err.title
    if product_id:
        where += f" of product {product_id!r}"
    return InvalidInputError(f"{where}: {msg}{more}", field=field, product_id=product_id)


class Record(BaseModel):
    """Base of the public records: strict about unknown fields, typed errors on bad input."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, allow_inf_nan=False
    )

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as err:
            pid = data.get("id") if isinstance(data.get("id"), str) else None
            raise invalid_input_from(err, product_id=pid) from None

    @classmethod
    def model_validate(
        cls,
        obj: Any,
        *,
        strict: bool | None = None,
        from_attributes: bool | None = None,
        context: Any | None = None,
        **kwargs: Any,
    ) -> Self:
        try:
            return super().model_validate(
                obj, strict=strict, from_attributes=from_attributes, context=context, **kwargs
            )
        except ValidationError as err:
            pid = (
                obj.get("id") if isinstance(obj, dict) and isinstance(obj.get("id"), str) else None
            )
            raise invalid_input_from(err, product_id=pid) from None

    @classmethod
    def model_validate_json(cls, json_data: str | bytes | bytearray, **kwargs: Any) -> Self:
        try:
            return super().model_validate_json(json_data, **kwargs)
        except ValidationError as err:
            raise invalid_input_from(err) from None
