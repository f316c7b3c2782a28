"""trainlab: a NumPy deep-learning library and lab.

    import trainlab as tl
    from trainlab import nn, optim, init, data

    with tl.detect_anomaly():       # the first layer that produces NaN/inf raises
        ...                         # tl.NonFiniteError, naming its position and type
"""

from trainlab import data, init, nn, optim
from trainlab._checks import NonFiniteError
from trainlab.nn.anomaly import detect_anomaly

__version__ = "0.2.0"

__all__ = ["NonFiniteError", "__version__", "data", "detect_anomaly", "init", "nn", "optim"]
