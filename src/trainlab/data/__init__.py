"""Datasets, splits, input normalisation, augmentation and minibatches.

    from trainlab import data
    ds = data.load_dataset("digits")                  # Dataset: X (1797, 64) float32, 10 classes
    X_tr, y_tr, X_va, y_va, X_te, y_te = data.train_val_test_split(ds.X, ds.y, seed=0)
    scaler = data.Standardizer().fit(X_tr)            # statistics of the training split only
    X_tr, X_va, X_te = (scaler.transform(a) for a in (X_tr, X_va, X_te))
    augment = data.RandomShiftRotate(ds.image_shape)  # (X_batch, rng) -> X_batch
    rng = np.random.default_rng(0)
    for index in data.iterate_minibatches(len(X_tr), 64, rng):
        X_batch, y_batch = augment(X_tr[index], rng), y_tr[index]
"""

from trainlab.data.batches import DataLoader, iterate_minibatches, num_batches
from trainlab.data.dataset import MAX_INFERRED_CLASSES, TASKS, Dataset, encode_targets
from trainlab.data.datasets import (
    DATASETS,
    EXTRA_HINT,
    dataset_names,
    load_breast_cancer,
    load_dataset,
    load_diabetes,
    load_digits,
    load_fashion_mnist,
    load_iris,
    load_mnist,
    load_mnist1d,
    load_mnist5k,
    load_wine,
)
from trainlab.data.describe import DataSummary, describe
from trainlab.data.idx import read_idx, write_idx
from trainlab.data.scalers import (
    SCALERS,
    IdentityScaler,
    MinMaxScaler,
    Standardizer,
    make_scaler,
)
from trainlab.data.splits import Split, train_val_test_split
from trainlab.data.tables import load_csv, load_npz
from trainlab.data.transforms import Compose, GaussianNoise, RandomShiftRotate, shift_rotate

__all__ = [
    "DATASETS", "Dataset", "TASKS", "MAX_INFERRED_CLASSES", "encode_targets",
    "load_dataset", "dataset_names", "EXTRA_HINT",
    "load_digits", "load_breast_cancer", "load_diabetes", "load_iris", "load_wine",
    "load_mnist1d", "load_mnist5k", "load_mnist", "load_fashion_mnist",
    "load_csv", "load_npz",
    "describe", "DataSummary",
    "read_idx", "write_idx",
    "Split", "train_val_test_split",
    "Standardizer", "MinMaxScaler", "IdentityScaler", "make_scaler", "SCALERS",
    "GaussianNoise", "RandomShiftRotate", "Compose", "shift_rotate",
    "iterate_minibatches", "num_batches", "DataLoader",
]
