"""Derived numbers (ratios, GFLOP/s, fraction of peak), the target checks and the printed table."""

from __future__ import annotations

import statistics
from typing import Any

from configs import Config

FLAT_TOLERANCE_MB = 2.0  # RSS growth from epoch 2 to the last epoch still counted as flat


def summarise(config: Config, results: dict[str, dict[str, Any]], peak_gflops: float,
              floor: float | None = None) -> dict[str, Any]:
    """Add ratios, GFLOP/s and fraction of the GEMM peak to each framework's timing result;
    ``floor``: seconds of the epoch's matrix products alone (trainlab's speed as a fraction
    of it is ``floor/trainlab``)."""
    trainlab = results.get("trainlab", {}).get("seconds_per_epoch")
    for res in results.values():
        sec = res.get("seconds_per_epoch")
        if sec is None:
            continue
        res["gflops"] = config.flops_per_epoch(res["samples"]) / sec / 1e9
        res["fraction_of_peak"] = res["gflops"] / peak_gflops
        res["samples_per_second"] = res["samples"] / sec
    ratios: dict[str, float] = {}
    for other in ("torch", "sklearn", "jax"):
        sec = results.get(other, {}).get("seconds_per_epoch")
        if trainlab is not None and sec is not None:
            ratios[f"trainlab/{other}"] = trainlab / sec
            paired = per_rep_ratios(results["trainlab"], results[other])
            if paired:
                ratios[f"trainlab/{other} per rep"] = paired
    if trainlab is not None and floor is not None:
        ratios["floor_fraction"] = floor / trainlab
    return ratios


def per_rep_ratios(mine: dict[str, Any], theirs: dict[str, Any]) -> list[float]:
    """(lowest, median, highest) of trainlab's time over theirs, repetition by repetition:
    the repetitions alternate between the frameworks, so each pair ran under the same load,
    and the spread says how far a single ratio can be trusted on this machine."""
    pairs = sorted(a / b for a, b in zip(mine.get("seconds_per_epoch_all", []),
                                         theirs.get("seconds_per_epoch_all", []), strict=False))
    if not pairs:
        return []
    return [pairs[0], statistics.median(pairs), pairs[-1]]


def check_targets(config: Config, entry: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the configuration: what was measured, the bound, met or not (None: not measured)."""
    checks = []
    results, ratios = entry["results"], entry["ratios"]
    for other in ("torch", "sklearn"):
        if other in config.targets:
            value = ratios.get(f"trainlab/{other}")
            bound = config.targets[other]
            checks.append(_check(f"time trainlab/{other}", value, bound, value is not None and value <= bound))
    if "floor_fraction" in config.targets:
        value = ratios.get("floor_fraction")
        bound = config.targets["floor_fraction"]
        checks.append(_check("speed as a fraction of the GEMM floor", value, bound,
                             value is not None and value >= bound, ">="))
    mine = results.get("trainlab", {}).get("memory") or {}
    theirs = results.get("torch", {}).get("memory") or {}
    if mine.get("working_mb") is not None and theirs.get("working_mb") is not None:
        checks.append(
            _check("working memory MiB vs torch", mine["working_mb"], theirs["working_mb"],
                   mine["working_mb"] <= theirs["working_mb"])
        )
    if mine.get("growth_mb") is not None:
        checks.append(
            _check(f"RSS growth MiB, epoch 2 -> {mine['epochs']}", mine["growth_mb"], FLAT_TOLERANCE_MB,
                   mine["growth_mb"] <= FLAT_TOLERANCE_MB)
        )
    return checks


def _check(what: str, value: float | None, bound: float, met: bool, sense: str = "<=") -> dict[str, Any]:
    return {"what": what, "value": value, "bound": bound, "sense": sense, "met": bool(met) if value is not None else None}


def _fmt(value: Any, spec: str) -> str:
    """``format(value, spec)``, or a dash right-aligned to the same width for a missing value."""
    if value is None:
        width = "".join(ch for ch in spec.split(".")[0] if ch.isdigit())
        return "-".rjust(int(width or 1))
    return format(value, spec)


def table(report: dict[str, Any]) -> str:
    """The human-readable summary: header, one row per configuration and framework, targets."""
    lines = []
    m, g = report["machine"], report["gemm"]
    lines.append(
        f"{m.get('cpu', '?')}, {m['cpus']} CPUs; {report['settings']['threads']} BLAS/torch threads; "
        f"numpy {m['numpy']}, torch {m.get('torch') or 'absent'}, scikit-learn {m.get('sklearn')}; "
        f"trainlab backend: "
        + (f"compiled (numba {m.get('numba')})" if m.get("trainlab_compiled_updates") else "NumPy")
        + f", GEMM provider {m.get('trainlab_gemm', 'numpy')}"
    )
    lines.append(
        f"GEMM peak (NumPy, 2048x2048, best of {report['settings']['gemm_reps']}; median): "
        f"float32 {g['float32']['gflops_best']:.1f} ({g['float32']['gflops_median']:.1f}) GFLOP/s, "
        f"float64 {g['float64']['gflops_best']:.1f} ({g['float64']['gflops_median']:.1f}) GFLOP/s"
        + (f"; torch float32 median {g['torch_float32']:.1f}" if g.get("torch_float32") else "")
    )
    s = report["settings"]
    memory = (
        f"memory in one subprocess per framework over {s['memory_epochs']} epochs"
        if s["memory_epochs"] else "no memory runs"
    )
    lines.append(
        f"median of {s['reps']} repetitions after {s['warmup']} warm-up, each after "
        f"{s.get('lead_in', 0)} untimed lead-in; {memory}"
        + (" (quick mode)" if s["quick"] else "")
    )
    header = (
        f"{'config':<16} {'framework':<9} {'s/epoch':>9} {'/torch':>7} {'/sklearn':>8} "
        f"{'GFLOP/s':>8} {'%peak':>6} {'floor s':>8} {'%floor':>6} {'/jax':>6} "
        f"{'work MiB':>9} {'peak MiB':>9} {'growth':>7}"
    )
    lines += ["", header, "-" * len(header)]
    for key, entry in report["configs"].items():
        label = f"{key} {entry['title']}"
        for name, res in entry["results"].items():
            if "skipped" in res:
                lines.append(f"{label:<16} {name:<9} skipped: {res['skipped']}")
                label = ""
                continue
            mem = res.get("memory") or {}
            ratio_torch = entry["ratios"].get("trainlab/torch") if name == "trainlab" else None
            ratio_sk = entry["ratios"].get("trainlab/sklearn") if name == "trainlab" else None
            mine = name == "trainlab"
            floor = entry.get("gemm_floor_seconds") if mine else None
            floor_pct = 100 * entry["ratios"]["floor_fraction"] if mine and "floor_fraction" in entry["ratios"] else None
            ratio_jax = entry["ratios"].get("trainlab/jax") if mine else None
            lines.append(
                f"{label:<16} {name:<9} {_fmt(res.get('seconds_per_epoch'), '9.4f')} "
                f"{_fmt(ratio_torch, '7.2f')} {_fmt(ratio_sk, '8.2f')} "
                f"{_fmt(res.get('gflops'), '8.1f')} {_fmt(100 * res['fraction_of_peak'] if 'fraction_of_peak' in res else None, '6.1f')} "
                f"{_fmt(floor, '8.4f')} {_fmt(floor_pct, '6.1f')} {_fmt(ratio_jax, '6.2f')} "
                f"{_fmt(mem.get('working_mb'), '9.1f')} {_fmt(mem.get('process_peak_mb'), '9.1f')} "
                f"{_fmt(mem.get('growth_mb'), '7.1f')}"
            )
            label = ""
    lines += ["", "targets:"]
    for key, entry in report["configs"].items():
        for c in entry["targets"]:
            mark = {True: "met", False: "MISSED", None: "not measured"}[c["met"]]
            spread = entry["ratios"].get(c["what"].removeprefix("time ") + " per rep")
            per_rep = f"  (per repetition {spread[0]:.2f}-{spread[2]:.2f})" if spread else ""
            lines.append(
                f"  config {key}: {c['what']:<34} {_fmt(c['value'], '.3f'):>8} {c['sense']} {c['bound']:.3f}  {mark}"
                + per_rep
            )
    lines += [
        "",
        "s/epoch: median seconds per epoch; /torch, /sklearn: trainlab's time over theirs (below 1 is faster);",
        "GFLOP/s: 6·params·samples/time (2·params·samples for inference); %peak: of the best NumPy GEMM of that dtype;",
        "floor s: seconds per epoch of the configuration's matrix products alone, on the fastest GEMM provider here;",
        "%floor: floor over trainlab's time; /jax: trainlab's time over JAX's (jax.jit on the CPU);",
        "work MiB: peak RSS while building and running the model minus RSS before (data and imports excluded);",
        "peak MiB: the whole subprocess's peak RSS, imports included; growth: RSS after the last epoch minus after epoch 2.",
    ]
    return "\n".join(lines)
