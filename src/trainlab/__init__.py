"""trainlab: a NumPy deep-learning library and lab.

    import trainlab as tl
    from trainlab import nn, optim, init, data

    with tl.detect_anomaly():       # the first layer that produces NaN/inf raises
        ...                         # tl.NonFiniteError, naming its position and type

    tl.gradcheck(layer, x)          # backward against float64 central differences
"""

from trainlab import data, init, nn, optim
from trainlab._checks import NonFiniteError
from trainlab.nn.anomaly import detect_anomaly
from trainlab.numerical import GradcheckError, gradcheck

__version__ = "0.2.0"

__all__ = ["GradcheckError", "NonFiniteError", "__version__", "data", "detect_anomaly",
           "gradcheck", "init", "nn", "optim"]
