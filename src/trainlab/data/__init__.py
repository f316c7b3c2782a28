"""Datasets, splits, input normalisation, augmentation and minibatches.

    from trainlab import data
    ds = data.load_dataset("digits")                  # Dataset: X (1797, 64) float32, 10 classes
    table = data.read_csv_frame("my.csv")             # pandas DataFrame (text columns categorical)
    ds = data.frame_to_dataset(table, target="y")     # the numeric Dataset, as load_csv gives
    X_tr, y_tr, X_va, y_va, X_te, y_te = data.train_val_test_split(ds.X, ds.y, seed=0)
    scaler = data.Standardizer().fit(X_tr)            # statistics of the training split only
    X_tr, X_va, X_te = (scaler.transform(a) for a in (X_tr, X_va, X_te))
    augment = data.RandomShiftRotate(ds.image_shape)  # (X_batch, rng) -> X_batch
    rng = np.random.default_rng(0)
    for index in data.iterate_minibatches(len(X_tr), 64, rng):
        X_batch, y_batch = augment(X_tr[index], rng), y_tr[index]
"""

from trainlab.data.batches import DataLoader, iterate_minibatches, num_batches
from trainlab.data.csvfile import CsvSource, frame_to_dataset, read_csv_frame
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
from trainlab.data.mnist import MissingDataFilesError
from trainlab.data.scalers import (
    SCALERS,
    IdentityScaler,
    MinMaxScaler,
    Standardizer,
    make_scaler,
)
from trainlab.data.splits import Split, train_val_test_split
from trainlab.data.tables import load_csv, load_npz
from trainlab.data.transforms import (
    Compose,
    GaussianNoise,
    RandomShiftRotate,
    shift_rotate,
)

__all__ = [
    "DATASETS",
    "EXTRA_HINT",
    "MAX_INFERRED_CLASSES",
    "SCALERS",
    "TASKS",
    "Compose",
    "CsvSource",
    "DataLoader",
    "DataSummary",
    "Dataset",
    "GaussianNoise",
    "IdentityScaler",
    "MinMaxScaler",
    "MissingDataFilesError",
    "RandomShiftRotate",
    "Split",
    "Standardizer",
    "dataset_names",
    "describe",
    "encode_targets",
    "frame_to_dataset",
    "iterate_minibatches",
    "load_breast_cancer",
    "load_csv",
    "load_dataset",
    "load_diabetes",
    "load_digits",
    "load_fashion_mnist",
    "load_iris",
    "load_mnist",
    "load_mnist1d",
    "load_mnist5k",
    "load_npz",
    "load_wine",
    "make_scaler",
    "num_batches",
    "read_csv_frame",
    "read_idx",
    "shift_rotate",
    "train_val_test_split",
    "write_idx",
]
