"""Strict JSON for the pages: NaN and infinities become null (JSON has no NaN)."""

from __future__ import annotations

import json
import math
from typing import Any


def clean(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None (dict keys as strings)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    return value


def dumps(value: Any) -> str:
    return json.dumps(clean(value), allow_nan=False, separators=(",", ":"), default=str)
