"""Settings of a backbone or a penalty: a frozen dataclass of plain values, checked when built.

A config section (``vae.*``, ``infogan.*``, ``penalty.*``) is one of these; ``config.py`` converts
``--set`` strings to the field types and turns the ``ValueError`` of ``validate`` into a one-line
user error.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Params:
    """Base of every settings dataclass: subclasses add fields and override ``validate``."""

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` with a one-line message for out-of-range values."""


def require(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)
