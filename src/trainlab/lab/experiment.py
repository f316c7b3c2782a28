"""What an experiment of the lab is, what it hands back, and the context it runs in.

An experiment is a function ``run(ctx: Context) -> None`` that measures something the
notes claim and records, through ``ctx``, each claim as (claim, expected, measured,
holds), its figures and tables, and one main measured number. The verdict ``holds`` of
every claim is computed from measurements with a stated threshold, never written down.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trainlab.diagnostics.plots import save_figure


@dataclass(frozen=True)
class Claim:
    """One checked statement: what the notes say, the threshold, the measurement, the verdict."""

    claim: str
    expected: str
    measured: str
    holds: bool


@dataclass
class Result:
    """Everything an experiment produced.

    claims: the checked statements; ``holds`` is True when every one holds.
    figures: (path of a PNG, caption). tables: (title, header, rows).
    main: the one measured number that sums the experiment up, as text.
    """

    name: str
    title: str
    claim: str
    claims: list[Claim] = field(default_factory=list)
    figures: list[tuple[Path, str]] = field(default_factory=list)
    tables: list[tuple[str, list[str], list[list[str]]]] = field(default_factory=list)
    main: str = ""
    seconds: float = math.nan
    quick: bool = False
    seed: int = 0
    error: str | None = None

    @property
    def holds(self) -> bool:
        return self.error is None and bool(self.claims) and all(c.holds for c in self.claims)

    @property
    def figure_paths(self) -> list[Path]:
        return [path for path, _ in self.figures]


@dataclass(frozen=True)
class Experiment:
    """A registered experiment: its command-line name, a title, the one-line claim, the code."""

    name: str
    title: str
    claim: str
    run: Callable[[Context], None]


class Context:
    """Passed to an experiment's ``run``: where to write, how big to run, and the recorder.

    quick: a reduced size for tests (same claims, smaller networks, fewer steps).
    seed: the base seed; ``seeds(n)`` gives n consecutive seeds from it.
    """

    def __init__(self, result: Result, out_dir: Path, quick: bool, seed: int) -> None:
        self.result = result
        self.out_dir = out_dir
        self.quick = quick
        self.seed = seed

    def pick(self, full: Any, quick: Any) -> Any:
        """``quick`` at the reduced size, ``full`` otherwise."""
        return quick if self.quick else full

    def seeds(self, full: int, quick: int = 1) -> list[int]:
        """Consecutive seeds from the base seed: ``full`` of them, or ``quick`` when reduced."""
        return [self.seed + i for i in range(self.pick(full, quick))]

    def check(self, claim: str, expected: str, measured: str, holds: bool) -> bool:
        """Record one claim with its measured verdict; return the verdict."""
        self.result.claims.append(Claim(claim, expected, measured, bool(holds)))
        return bool(holds)

    def figure(self, fig: Any, filename: str, caption: str) -> Path:
        """Save a matplotlib figure as ``<out_dir>/<filename>.png`` (then close it)."""
        path = save_figure(fig, self.out_dir / f"{filename}.png")
        self.result.figures.append((path, caption))
        return path

    def table(self, title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Record a table of results (cells are turned into text)."""
        self.result.tables.append((title, list(header), [[str(c) for c in r] for r in rows]))

    def main(self, text: str) -> None:
        """Set the experiment's main measured number (shown in the summary)."""
        self.result.main = text
