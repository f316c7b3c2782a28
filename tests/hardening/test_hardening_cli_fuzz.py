"""``trainlab train`` with random flags and random TOML files: whatever is given, no traceback
escapes. The exit status is 0, 1, 2 or 130, and a refusal (2) is one line on stderr.

Every example trains at most two epochs of a small network on iris. A fuzzed flag comes
after the fixed ones (so its value is the one used), and values that would only make a
valid run long (many epochs, wide layers) or fetch a dataset are skipped. A fuzzed file
comes with the fixed flags, which override its epochs, layers and data once the file's
own values have been checked."""

from __future__ import annotations

import re
import string

import tomli_w
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from trainlab.cli import main
from trainlab.cli.settings import SETTINGS

FUZZ_CLI = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])
BASE = ["--epochs", "1", "--hidden", "2", "--data", "iris", "--no-monitor", "-q"]
FLAGS = [s.flag for s in SETTINGS] + ["--no-" + s.flag[2:] for s in SETTINGS if s.kind == "bool"]
NAMES = [s.name for s in SETTINGS]
DOWNLOADS = ("mnist", "fashion", "mnist1d", "mnist5k")  # never fetch from the network

words = st.text(string.printable, max_size=12)
numbers = st.one_of(st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True))
small_ints = st.lists(st.integers(-3, 40), min_size=0, max_size=4)
specials = st.sampled_from(["", " ", "nan", "inf", "-inf", "1e309", "-0", "0x10", "true",
                            "[1]", "a=b", "=", "lr=1", "2,2", ",", "none", "csv:", "npz:x",
                            "\x00", "\n", "é", "1" * 400])
choices = st.sampled_from(sorted({c for s in SETTINGS if s.kind == "choice" for c in s.allowed()}))
flag_values = st.one_of(words, numbers.map(str), small_ints.map(lambda v: ",".join(map(str, v))),
                        specials, choices, st.floats(0, 1).map(str))


def slow_but_valid(name: str, value: object) -> bool:
    """True for a value that would make a valid run long (not what is fuzzed here)."""
    try:
        if name == "epochs":
            return int(str(value)) > 2
        if name == "hidden":
            widths = [int(v) for v in str(value).split(",")] if not isinstance(value, list) \
                else [int(v) for v in value]
            return sum(widths) > 64 or len(widths) > 8
        if name == "monitor_every":
            return False
        if name == "curvature":  # Hessian eigenvalues on every measured step
            return str(value).lower() in ("true", "1", "yes", "on")
        if name in ("data", "data_dir"):
            return any(d in str(value).lower() for d in DOWNLOADS)
    except (ValueError, TypeError, OverflowError):
        return False
    return False


def run(capsys, argv: list[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def check(status: int, out: str, err: str) -> None:
    """No traceback; a refusal is one line; a failure (1) is a run that failed, never an
    exception of the program shown by its type name ("trainlab: error: KeyError: ...")."""
    assert status in (0, 1, 2, 130), (status, err)
    assert "Traceback" not in out + err, err
    lines = [line for line in err.splitlines() if line.strip()]
    if status == 2:
        assert len(lines) == 1, err
    else:
        assert len(lines) <= 1, err
    assert not re.match(r"trainlab: error: \w*(Error|Exception|Interrupt)\b", err), err


@FUZZ_CLI
@given(flags=st.lists(st.tuples(st.sampled_from(FLAGS), flag_values, st.booleans()),
                      min_size=1, max_size=3))
def test_random_flags_never_give_a_traceback(tmp_path_factory, capsys, flags):
    out_dir = tmp_path_factory.mktemp("flags")
    argv = ["train", *BASE, "--out", str(out_dir)]
    for flag, value, with_value in flags:
        name = flag[2:].replace("-", "_").removeprefix("no_")
        assume(not slow_but_valid(name, value))
        if name == "out":
            value = str(out_dir / value.replace("\x00", ""))
        argv += [flag, *([value] if with_value else [])]
    check(*run(capsys, argv))


toml_values = st.recursive(
    st.one_of(st.booleans(), st.integers(-(2**63), 2**63 - 1),
              st.floats(allow_nan=True, allow_infinity=True), words, choices, st.floats(0, 1)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(NAMES + ["x"]), inner, max_size=2)),
    max_leaves=6,
)
documents = st.dictionaries(st.sampled_from(NAMES + ["unknown", "Lr"]), toml_values,
                            max_size=5)


@FUZZ_CLI
@given(document=documents, garbage=st.one_of(st.none(), words))
def test_random_toml_files_never_give_a_traceback(tmp_path_factory, capsys, document, garbage):
    folder = tmp_path_factory.mktemp("toml")
    if "out" in document and isinstance(document["out"], str):
        document["out"] = str(folder / document["out"].replace("\x00", ""))
    try:
        text = tomli_w.dumps(document)
    except (TypeError, ValueError):  # e.g. a float TOML cannot spell; write garbage instead
        text = str(document)
    if garbage is not None:
        text += garbage
    (folder / "run.toml").write_text(text, encoding="utf-8")
    argv = ["train", "--config", str(folder / "run.toml"), *BASE, "--out", str(folder)]
    check(*run(capsys, argv))


def test_the_fuzzed_values_include_what_broke_before(capsys, tmp_path):
    """The cases the fuzzers are meant to catch, run once each (and quickly)."""
    for flag, value in [("--hidden", "0"), ("--lr", "nan"), ("--seed", "-1"),
                        ("--val-fraction", "inf"), ("--optimizer-options", "=1"),
                        ("--name", "../x"), ("--batch-size", str(2**70))]:
        check(*run(capsys, ["train", *BASE, "--out", str(tmp_path), flag, value]))
