"""``trainlab doctor`` and ``trainlab lr-find`` on the command line."""

from __future__ import annotations

from trainlab.cli.main import main


def test_doctor_prints_a_verdict_per_check(capsys, tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('data = "digits"\nhidden = [32]\noptimizer = "sgd"\nlr = 0.05\n'
                      "momentum = 0.9\n", encoding="utf-8")
    code = main(["doctor", str(config)])
    out = capsys.readouterr().out
    assert "loss at initialisation" in out and "gradient check" in out
    assert "update/weight ratio after one step" in out
    passed = int(out.strip().splitlines()[-1].split("/")[0])
    assert code == (0 if passed == 5 else 1)


def test_doctor_flags_a_too_large_learning_rate(capsys):
    code = main(["doctor", "--data", "digits", "--hidden", "32", "--optimizer", "sgd",
                 "--lr", "30"])
    out = capsys.readouterr().out
    assert code == 1 and "remedy: updates are large" in out


def test_lr_find_suggests_a_rate_and_draws_the_plot(capsys, tmp_path):
    plot = tmp_path / "lr.png"
    code = main(["lr-find", "--data", "digits", "--hidden", "32", "--optimizer", "sgd",
                 "--momentum", "0.9", "--steps", "60", "--plot", str(plot)])
    out = capsys.readouterr().out
    assert code == 0 and plot.stat().st_size > 10_000
    suggestion = float(out.split("suggested learning rate:")[1].split()[0])
    assert 1e-4 < suggestion < 1.0


def test_bad_lr_find_options_are_one_line_errors(capsys):
    assert main(["lr-find", "--start-lr", "1", "--end-lr", "0.1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--start-lr and --end-lr" in err
    assert main(["doctor", "--lr", "fast"]) == 2
