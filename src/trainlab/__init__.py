"""trainlab: a NumPy deep-learning library and lab.

    import trainlab as tl
    from trainlab import nn, optim, init, data
"""

from trainlab import data, init, nn, optim

__version__ = "0.2.0"

__all__ = ["data", "init", "nn", "optim", "__version__"]
