"""trainlab: a NumPy deep-learning library and lab.

    import trainlab as tl
    from trainlab import nn, optim, init, data
"""

from trainlab import init, nn, optim

__version__ = "0.1.0"

__all__ = ["init", "nn", "optim", "__version__"]
