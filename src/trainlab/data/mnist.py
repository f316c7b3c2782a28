"""MNIST and Fashion-MNIST from their IDX files in a directory the user names.

The four files of each set (gzipped or not) are looked for in ``data_dir``, then in
``data_dir/MNIST/raw`` or ``data_dir/FashionMNIST/raw`` (torchvision's layout). Missing
files are downloaded into ``data_dir`` when the network is reachable, and checked
against their published MD5 checksums; otherwise the error lists what to put where.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trainlab._checks import check_dtype, check_number
from trainlab.data.dataset import Dataset
from trainlab.data.idx import read_idx

SPLITS = ("all", "train", "test")


class MissingDataFilesError(ValueError):
    """A dataset's files are not where they were looked for (and could not be downloaded).

    The message lists every missing file, the directory to put it in and where to get
    it. A ValueError rather than a FileNotFoundError: no single path is missing, so the
    whole message is the useful part, and front ends that report ``FileNotFoundError``
    as "no such file PATH" show it in full instead.
    """

_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


@dataclass(frozen=True)
class IdxSource:
    """Where an IDX image set comes from: mirrors, MD5 of each .gz file, class names."""

    name: str
    subdir: str  # torchvision's folder name
    homepage: str
    mirrors: tuple[str, ...]
    md5: dict[str, str]
    class_names: tuple[str, ...]


SOURCES = {
    "mnist": IdxSource(
        name="mnist",
        subdir="MNIST",
        homepage="http://yann.lecun.com/exdb/mnist/",
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ),
        md5={
            "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
        },
        class_names=tuple(str(k) for k in range(10)),
    ),
    "fashion_mnist": IdxSource(
        name="fashion_mnist",
        subdir="FashionMNIST",
        homepage="https://github.com/zalandoresearch/fashion-mnist",
        mirrors=(
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
        ),
        md5={
            "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
        },
        class_names=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                     "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    ),
}


def md5sum(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def download_file(url: str, destination: Path, md5: str, timeout: float = 10.0) -> None:
    """Fetch ``url``, check its MD5, then write it to ``destination`` (never a partial file)."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        data = response.read()
    digest = md5sum(data)
    if digest != md5:
        raise ValueError(f"checksum mismatch for {url}: expected MD5 {md5}, received {digest}")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".part")
    partial.write_bytes(data)
    os.replace(partial, destination)


def _find(data_dir: Path, source: IdxSource, stem: str) -> Path | None:
    for folder in (data_dir, data_dir / source.subdir / "raw"):
        for filename in (stem + ".gz", stem):
            if (folder / filename).is_file():
                return folder / filename
    return None


def _missing_files_message(source: IdxSource, data_dir: Path | None, stems: list[str],
                           reason: str) -> str:
    where = (f"the directory {data_dir}" if data_dir is not None
             else "a directory passed as data_dir")
    files = "\n".join(f"  {stem}.gz  (MD5 {source.md5[stem + '.gz']})" for stem in stems)
    mirrors = "\n".join(f"  {m}" for m in source.mirrors)
    return (
        f"{source.name}: {reason}\n"
        f"Put these files (gzipped, or unpacked without the .gz) into {where} (or its "
        f"{source.subdir}/raw folder, torchvision's layout):\n{files}\n"
        f"Download them from one of:\n{mirrors}\n(see {source.homepage}), then call "
        f"load_dataset({source.name!r}, data_dir=...) again."
    )


def _locate_or_download(source: IdxSource, data_dir: Path, stems: list[str], download: bool,
                        timeout: float) -> dict[str, Path]:
    found = {stem: _find(data_dir, source, stem) for stem in stems}
    missing = [stem for stem, path in found.items() if path is None]
    if missing and not download:
        raise MissingDataFilesError(_missing_files_message(
            source, data_dir, missing, f"files missing from {data_dir} and download=False."))
    failures = []
    for stem in missing:
        filename = stem + ".gz"
        for mirror in source.mirrors:
            try:
                download_file(mirror + filename, data_dir / filename, source.md5[filename], timeout)
            except (urllib.error.URLError, OSError, ValueError) as exc:
                failures.append(f"{mirror}{filename}: {exc}")
                continue
            found[stem] = data_dir / filename
            break
        if found[stem] is None:
            break  # every mirror failed: the network is likely unreachable, stop here
    still_missing = [stem for stem in stems if found[stem] is None]
    if still_missing:
        raise MissingDataFilesError(_missing_files_message(
            source, data_dir, still_missing,
            "files missing and the download failed (is the network reachable?):\n  "
            + "\n  ".join(failures)))
    return {stem: path for stem, path in found.items() if path is not None}  # all found


def _read_pair(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(f"{images_path}: expected uint8 images (n, height, width). "
                         f"Received shape {images.shape}, dtype {images.dtype}.")
    if labels.ndim != 1 or labels.dtype != np.uint8 or labels.shape[0] != images.shape[0]:
        raise ValueError(f"{labels_path}: expected {images.shape[0]} uint8 labels. "
                         f"Received shape {labels.shape}, dtype {labels.dtype}.")
    if labels.size and labels.max() > 9:
        raise ValueError(f"{labels_path}: labels must be 0..9. Received {labels.max()}.")
    return images, labels


def load_mnist_idx(
    name: str = "mnist",
    data_dir: str | os.PathLike | None = None,
    split: str = "all",
    download: bool = True,
    timeout: float = 10.0,
    dtype=np.float32,
) -> Dataset:
    """MNIST or Fashion-MNIST as stored: pixels 0..255 as floats, X (n, 784), 10 classes.

    split: "train" (60,000 images), "test" (10,000) or "all" (train rows first, then test).
    """
    if name not in SOURCES:
        raise ValueError(
            f"load_mnist_idx: name must be one of {tuple(SOURCES)}. Received: {name!r}."
        )
    source = SOURCES[name]
    if split not in SPLITS:
        raise ValueError(f"{name}: split must be one of {SPLITS}. Received: {split!r}.")
    dtype = check_dtype(dtype)
    timeout = check_number(timeout, "timeout", low=0.0, low_inclusive=False)
    parts = ["train", "test"] if split == "all" else [split]
    stems = [stem for part in parts for stem in _FILES[part]]
    if data_dir is None:
        raise MissingDataFilesError(_missing_files_message(
            source, None, stems, "needs data_dir=, the directory that holds (or will receive) "
            "its IDX files."))
    paths = _locate_or_download(source, Path(data_dir), stems, download, timeout)
    images, labels = [], []
    for part in parts:
        x, y = _read_pair(*(paths[stem] for stem in _FILES[part]))
        images.append(x)
        labels.append(y)
    x = np.concatenate(images) if len(images) > 1 else images[0]
    height, width = x.shape[1:]
    return Dataset(
        X=x.reshape(x.shape[0], -1).astype(dtype),
        y=np.concatenate(labels).astype(np.int64),
        task="classification",
        name=name,
        feature_names=[f"pixel_{r}_{c}" for r in range(height) for c in range(width)],
        class_names=source.class_names,
        image_shape=(height, width),
    )
