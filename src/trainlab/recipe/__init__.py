"""The recipe of a run: :class:`RunConfig`, its settings table, checks and TOML form.

    from trainlab.recipe import RunConfig, from_flat
    config = from_flat({"data": "iris", "optimizer": "sgd", "lr": 0.05, "momentum": 0.9})
    config.optimizer.momentum        # 0.9
    print(to_toml(resolved(config)))  # every setting that applies, with the value used
"""

from trainlab.recipe.config import (
    SECTIONS,
    SETTINGS,
    DataConfig,
    ModelConfig,
    MonitorConfig,
    OptimizerConfig,
    RunConfig,
    ScheduleConfig,
    TrainingConfig,
)
from trainlab.recipe.resolve import (
    absolute_paths,
    applies,
    differences,
    fingerprint,
    from_flat,
    make_schedule,
    optimizer_class,
    optimizer_kwargs,
    resolved,
    schedule_class,
    schedule_kwargs,
    validate_config,
)
from trainlab.recipe.settings import Setting, SettingError
from trainlab.recipe.toml_io import parse_toml, read_toml, to_toml

__all__ = [
    "RunConfig", "DataConfig", "ModelConfig", "OptimizerConfig", "ScheduleConfig",
    "TrainingConfig", "MonitorConfig", "SECTIONS", "SETTINGS", "Setting", "SettingError",
    "absolute_paths", "from_flat", "validate_config", "resolved", "applies", "fingerprint",
    "differences",
    "optimizer_class", "optimizer_kwargs", "schedule_class", "schedule_kwargs",
    "make_schedule",
    "read_toml", "parse_toml", "to_toml",
]
