"""Registries: the names by which every front door (the command line, TOML files, the
scikit-learn estimators, the lab, sweep specs, checkpoints) reaches a class or function.

Each registry lives beside the things it names (``optim.OPTIMIZERS`` in ``optim``,
``nn.ACTIVATIONS`` in ``nn``, ``init.INITIALIZERS`` in ``init``, ...) and is filled there,
usually with the :meth:`Registry.register` decorator::

    @OPTIMIZERS.register("adam")
    class Adam(Optimizer): ...

It also reads plugins from a Python entry-point group: a package that declares, in its
``pyproject.toml``,

    [project.entry-points."trainlab.optimizers"]
    lion = "my_package.lion:Lion"

makes ``"lion"`` usable wherever an optimizer is named. Plugins are loaded the first time
a name is looked up or the names are listed. Names are lowercase. A name that is both
built in and a plugin is an error when it is used, naming both.
"""

from __future__ import annotations

import difflib
import importlib.metadata
from collections.abc import Callable, Iterator, Mapping
from typing import Generic, TypeVar

T = TypeVar("T")


class RegistryError(ValueError):
    """An unknown name, a name claimed twice, or a plugin that cannot be loaded."""


class Registry(Mapping[str, T], Generic[T]):
    """A mapping from lowercase names to classes or functions, open to plugins.

    kind: what the entries are, for messages ("optimizer").
    group: the entry-point group read for plugins ("trainlab.optimizers"); None for none.
    """

    def __init__(self, kind: str, group: str | None = None) -> None:
        self.kind = kind
        self.group = group
        self._builtin: dict[str, T] = {}
        self._plugins: dict[str, T] | None = None  # loaded on first use
        self._plugin_sources: dict[str, str] = {}

    # -- filling ---------------------------------------------------------------------------
    def register(self, name: str) -> Callable[[T], T]:
        """A decorator that registers its argument under ``name`` (built in)."""
        key = _check_name(name, self.kind)

        def decorate(obj: T) -> T:
            self.add(key, obj)
            return obj

        return decorate

    def add(self, name: str, obj: T) -> None:
        """Register ``obj`` under ``name`` (built in); a name may be registered once."""
        key = _check_name(name, self.kind)
        if key in self._builtin and self._builtin[key] is not obj:
            raise RegistryError(f"{self.kind} name {key!r} is already registered "
                                f"(to {_describe(self._builtin[key])}).")
        self._builtin[key] = obj

    def reload_plugins(self) -> None:
        """Read the entry points again (after installing a plugin in a running process)."""
        self._plugins = None

    # -- looking up ------------------------------------------------------------------------
    def __getitem__(self, name: str) -> T:
        return self.get_named(name)

    def get_named(self, name: object, owner: str = "") -> T:
        """The entry named ``name``; a clear :class:`RegistryError` when there is none.

        owner: prefixes the message (``"MLPConfig: activation"``).
        """
        prefix = f"{owner} " if owner else f"{self.kind} "
        if not isinstance(name, str):
            raise RegistryError(f"{prefix}must be a name, one of {self.names()}. "
                                f"Received: {name!r}.")
        key = name.strip().lower()
        plugins = self._load_plugins()
        if key in self._builtin and key in plugins:
            raise RegistryError(
                f"{self.kind} name {key!r} is both built in ({_describe(self._builtin[key])}) "
                f"and a plugin ({self._plugin_sources[key]}); uninstall the plugin or "
                "rename its entry point."
            )
        if key in self._builtin:
            return self._builtin[key]
        if key in plugins:
            return plugins[key]
        close = difflib.get_close_matches(key, self.names(), n=1, cutoff=0.6)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        if self.group is not None:
            hint += (f" (No built-in {self.kind} or installed plugin is named {key!r}; a plugin "
                     f"must be installed to provide it, through the entry-point group "
                     f"{self.group!r}.)")
        raise RegistryError(f"{prefix}must be one of {self.names()}. Received: {name!r}.{hint}")

    def name_of(self, obj: object) -> str | None:
        """The name under which ``obj`` is registered (the first one), or None."""
        for key, value in self._all().items():
            if value is obj:
                return key
        return None

    def names(self) -> list[str]:
        """Every name: the built-in ones in the order they were registered, then plugins
        (sorted)."""
        plugins = self._load_plugins()
        return list(self._builtin) + sorted(k for k in plugins if k not in self._builtin)

    def is_plugin(self, name: str) -> bool:
        return name in self._load_plugins() and name not in self._builtin

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.strip().lower() in self._all()

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"

    # -- plugins ---------------------------------------------------------------------------
    def _all(self) -> dict[str, T]:
        return {**self._load_plugins(), **self._builtin}

    def _load_plugins(self) -> dict[str, T]:
        if self._plugins is not None:
            return self._plugins
        plugins: dict[str, T] = {}
        if self.group is not None:
            for point in importlib.metadata.entry_points(group=self.group):
                key = point.name.strip().lower()
                source = f"entry point {point.name!r} = {point.value!r} in group {self.group!r}"
                try:
                    plugins[key] = point.load()
                except Exception as exc:  # noqa: BLE001 - any import error of a plugin
                    raise RegistryError(f"{self.kind} plugin {source} cannot be loaded "
                                        f"({type(exc).__name__}: {exc}).") from exc
                self._plugin_sources[key] = source
        self._plugins = plugins
        return plugins


def _check_name(name: object, kind: str) -> str:
    if not isinstance(name, str) or not name or name != name.strip().lower():
        raise RegistryError(f"a {kind} name must be a non-empty lowercase string. "
                            f"Received: {name!r}.")
    return name


def _describe(obj: object) -> str:
    module = getattr(obj, "__module__", "?")
    return f"{module}.{getattr(obj, '__qualname__', repr(obj))}"
