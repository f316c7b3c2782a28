"""Where a sweep's study lives: an Optuna RDB storage.

By default ``DIR/sweep.db``, one SQLite file (embedded, nothing to start). A
``postgresql://USER:PASSWORD@HOST:PORT/DB`` URL (``--storage``) lets sweeps on several
machines share one study. The study is Optuna's own, so it opens in
``optuna-dashboard sqlite:///DIR/sweep.db`` and with
``optuna.load_study(study_name=NAME, storage="sqlite:///DIR/sweep.db")``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import RDBStorage
from sqlalchemy import event

from trainlab.recipe import SettingError

DB = "sweep.db"
ATTEMPTS = 3


def default_url(sweep_dir: Path) -> str:
    """``sqlite:///ABSOLUTE/DIR/sweep.db``."""
    return f"sqlite:///{(Path(sweep_dir) / DB).resolve()}"


def open_storage(url: str) -> RDBStorage:
    """The RDB storage at ``url`` (its tables created when new). An unreachable or
    unusable database is a :class:`SettingError` naming ``--storage``."""
    if not isinstance(url, str) or "://" not in url:
        raise SettingError(f"setting 'storage' (--storage) must be a database URL such as "
                           f"sqlite:///PATH or postgresql://USER@HOST:PORT/DB; received {url!r}.")
    engine: dict[str, Any] = {}
    if url.startswith("sqlite"):
        # Writers wait for each other instead of failing with "database is locked".
        engine["connect_args"] = {"timeout": 60}
    elif url.startswith("postgresql"):
        engine["connect_args"] = {"connect_timeout": 5}
        engine["pool_pre_ping"] = True
    error: Exception | None = None
    for attempt in range(ATTEMPTS):
        if attempt:
            time.sleep(1.0)
        try:
            storage = RDBStorage(url, engine_kwargs=engine)
        except Exception as exc:  # noqa: BLE001 - any driver error means: not usable
            # Two sweeps creating the tables of a new database at once: one of them fails
            # on a duplicate, and finds the tables on its next attempt.
            error = exc
            continue
        if url.startswith("sqlite"):
            event.listen(storage.engine, "connect", _sqlite_pragmas)
            storage.engine.dispose()  # every connection from now on gets them
        return storage
    reason = " ".join(str(error).split())[:300]
    raise SettingError(f"setting 'storage' (--storage): cannot open the database "
                       f"{redacted(url)} ({type(error).__name__}: {reason}).")


def _sqlite_pragmas(connection: Any, record: Any) -> None:
    """Write-ahead logging, synced at checkpoints: a commit costs no fsync (from ~13 ms to
    well under one on a busy disk) and a killed process loses no committed trial; only a
    power cut could lose the last commits. Readers never block the writer."""
    del record
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def redacted(url: str) -> str:
    """The URL without its password."""
    scheme, _, rest = url.partition("://")
    user, at, host = rest.rpartition("@")
    if at and ":" in user:
        user = user.split(":", 1)[0] + ":***"
    return f"{scheme}://{user}{at}{host}"


def load_study(url: str, name: str, pruner: optuna.pruners.BasePruner | None = None,
               sampler: optuna.samplers.BaseSampler | None = None) -> optuna.Study:
    """The existing study ``name`` in the storage at ``url``."""
    return optuna.load_study(study_name=name, storage=open_storage(url), pruner=pruner,
                             sampler=sampler)
