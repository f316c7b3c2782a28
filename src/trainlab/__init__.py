"""trainlab: a NumPy deep-learning library and lab.

    import trainlab as tl
    from trainlab import nn, optim, init, data

    with tl.detect_anomaly():       # the first layer that produces NaN/inf raises
        ...                         # tl.NonFiniteError, naming its position and type

    tl.gradcheck(layer, x)          # backward against float64 central differences
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from trainlab import data, init, nn, optim
    from trainlab._checks import NonFiniteError
    from trainlab.nn.anomaly import detect_anomaly
    from trainlab.numerical import GradcheckError, gradcheck

__version__ = "0.2.0"

# The subpackages are imported when first used (``tl.nn``, ``from trainlab import nn``),
# so that ``trainlab --help`` does not load SciPy, matplotlib or pandas.
_LAZY = {"data": "trainlab.data", "init": "trainlab.init", "nn": "trainlab.nn",
         "optim": "trainlab.optim", "NonFiniteError": "trainlab._checks",
         "detect_anomaly": "trainlab.nn.anomaly", "gradcheck": "trainlab.numerical",
         "GradcheckError": "trainlab.numerical"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'trainlab' has no attribute {name!r}")
    module = importlib.import_module(_LAZY[name])
    value = module if _LAZY[name] == f"trainlab.{name}" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])

__all__ = ["GradcheckError", "NonFiniteError", "__version__", "data", "detect_anomaly",
           "gradcheck", "init", "nn", "optim"]
