"""KeyedValueError: a validation error that knows its own key path in the preset."""
from __future__ import annotations


class KeyedValueError(ValueError):
    """A cross-field error that knows its own key path (pydantic would report the root)."""

    def __init__(self, loc: tuple, value: object, expected: str) -> None:
        super().__init__(expected)
        self.loc = loc
        self.value = value
        self.expected = expected
