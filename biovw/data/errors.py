"""Exception raised for invalid data settings or unusable data files."""

from __future__ import annotations

__all__ = ["DataError"]


class DataError(ValueError):
    """Invalid data configuration or unusable data source.

    Messages are a single line that starts with, or names, the offending
    configuration field (for example ``data.path`` or ``data.valid_fraction``).
    """
