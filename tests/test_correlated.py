"""Correlated factors (issue 25, item 3; Roth et al. 2023 after Träuble et al. 2021): the sampler reaches the
correlation its table says, leaves the other factors uniform and independent, trains a run whose batches are
correlated while evaluate scores the uncorrelated data, and refuses what it cannot do in one line."""
import json
import re

import numpy as np
import pytest

from disentanglement.config import make_config
from disentanglement.data import (BatchStream, Correlated, DSprites, HeldOut, Squares, open_dataset, parse_correlations,
                                  parse_holdout)
from disentanglement.errors import UserError
from disentanglement.evaluate import evaluate_run
from disentanglement.models import build_model
from disentanglement.train import train, training_source


@pytest.mark.parametrize("sigma,low,high", [(0.4, 0.3, 0.55), (0.1, 0.9, 0.97), (0.04, 0.98, 1.0)])
def test_the_sampler_reaches_the_correlation_of_its_strength(sigma, low, high):
    data = DSprites()
    view = Correlated(data, parse_correlations(f"posX:posY={sigma}", data.factor_names))
    exact = view.correlation(3, 4)
    assert low <= exact <= high                                   # smaller σ, stronger
    f = view.sample_factors(20000, np.random.default_rng(0))
    assert np.corrcoef(f[:, 3], f[:, 4])[0, 1] == pytest.approx(exact, abs=0.02)
    counts = np.bincount(f[:, 2], minlength=40)                  # orientation: not in a pair, still uniform
    assert counts.min() > 0.8 * 20000 / 40 and abs(np.corrcoef(f[:, 2], f[:, 3])[0, 1]) < 0.03
    # the marginals of a symmetric pair stay symmetric (no factor value is lost)
    assert np.bincount(f[:, 3], minlength=32).min() > 0


def test_inverse_correlation_and_groups_of_pairs():
    data = DSprites()
    inverse = Correlated(data, ((3, 4, 0.1),), inverse=True)
    assert inverse.correlation(3, 4) == pytest.approx(-Correlated(data, ((3, 4, 0.1),)).correlation(3, 4))
    chained = Correlated(data, parse_correlations("shape:scale=0.1,scale:posY=0.1", data.factor_names))
    assert [g for g, _ in chained.groups] == [[0, 1, 4]]          # drawn jointly: they share scale
    f = chained.sample_factors(5000, np.random.RandomState(0))
    assert np.corrcoef(f[:, 0], f[:, 4])[0, 1] > 0.5            # shape and posY correlated through scale


def test_a_run_trains_on_correlated_batches_and_is_scored_on_uncorrelated_data(tmp_path):
    config = make_config({"dataset": "squares", "steps": 20, "vae": {"latent_dim": 3}, "log_every": 10,
                          "correlations": "posX:posY=0.1"})
    data = open_dataset("squares")
    source = training_source(config, data, build_model(config, data))
    with BatchStream(source, 256, np.random.default_rng(0)) as stream:
        f = next(stream).factors
    assert np.corrcoef(f[:, 0], f[:, 1])[0, 1] > 0.8
    train(config, tmp_path / "run", progress=False, tensorboard=False)
    record = evaluate_run(tmp_path / "run", metrics=["mig"], progress=False)
    assert "all 300 factor combinations" in record["scored_on"]     # the uncorrelated grid
    assert make_config({**config.to_dict(), "steps": 30}).correlations == "posX:posY=0.1"   # stored, resumable


@pytest.mark.parametrize("text,message", [
    ("posX:nope=0.1", "no factor 'nope'"), ("posX:posX=0.1", "with itself"), ("posX:posY=0", "positive"),
    ("posX:posY=strong", "not a number"), ("posX=0.1", "FACTOR:FACTOR=SIGMA"), ("posX:posY=0.1,posY:posX=0.4", "twice"),
])
def test_bad_correlations_fail_in_one_line(text, message):
    with pytest.raises(UserError, match=message) as err:
        make_config({"dataset": "squares", "correlations": text})
    assert "\n" not in str(err.value)


def test_what_correlated_training_does_not_support_is_refused():
    with pytest.raises(UserError, match="not supported"):
        make_config({"model": "causal_vae", "dataset": "pendulum", "correlations": "pendulum_angle:light_angle=0.1"})
    config = make_config({"model": "ada_gvae", "dataset": "squares", "correlations": "posX:posY=0.1"},
                         ["ada_gvae.latent_dim=3"])
    data = Squares()
    with pytest.raises(UserError, match="pairs"):
        training_source(config, data, build_model(config, data))


def test_runs_that_differ_in_correlations_share_a_pack_each_with_its_own_data(tmp_path):
    from disentanglement.pack import group, train_pack
    configs = [make_config({"dataset": "squares", "steps": 10, "seed": 0, "vae": {"latent_dim": 3}, "fast": False,
                            "log_every": 5, "correlations": c}) for c in ("", "posX:posY=0.1")]
    assert group(configs, 4) == [[0, 1]]
    train_pack(configs, [tmp_path / "a", tmp_path / "b"], progress=False, tensorboard=False)
    for config, out in zip(configs, ["a", "b"]):
        train(config, tmp_path / f"solo_{out}", progress=False, tensorboard=False)
        losses = [[{k: v for k, v in json.loads(line).items() if k != "time"}
                   for line in (tmp_path / d / "log.jsonl").read_text().splitlines()] for d in (out, f"solo_{out}")]
        assert losses[0] == losses[1] and len(losses[0]) == 2


def test_held_out_combinations_are_never_trained_on_and_scored_on():
    data = DSprites()
    view = HeldOut(data, parse_holdout("shape==0&scale>=0.5;posX<=0.1&posY<=0.1", data.factor_names))
    f = view.sample_factors(20000, np.random.default_rng(0))
    assert not ((f[:, 0] == 0) & (f[:, 1] >= 3)).any()               # squares of scale class 3-5 (c >= 0.5 of 0..5)
    assert not ((f[:, 3] <= 3) & (f[:, 4] <= 3)).any()               # c <= 0.1 of 0..31: classes 0-3
    assert ((f[:, 0] == 0) & (f[:, 1] < 3)).any() and (f[:, 0] == 1).any()   # the rest is still drawn
    assert view.held_out_share == pytest.approx(1 / 3 * 1 / 2 + (4 / 32) ** 2 - 1 / 6 * (4 / 32) ** 2, abs=0.01)
    both = HeldOut(Correlated(data, ((3, 4, 0.1),)), parse_holdout("posX<=0.1&posY<=0.1", data.factor_names))
    g = both.sample_factors(5000, np.random.default_rng(1))
    assert np.corrcoef(g[:, 3], g[:, 4])[0, 1] > 0.8 and not ((g[:, 3] <= 3) & (g[:, 4] <= 3)).any()


@pytest.mark.parametrize("text,message", [
    ("shape=0", "not FACTOR OP VALUE"), ("colour==0", "no factor 'colour'"), ("shape==big", "not a number"),
    ("scale>=2", "[0, 1] scale"), ("shape>=0", "leave at least"),
])
def test_bad_holdouts_fail_in_one_line(text, message):
    with pytest.raises(UserError, match=re.escape(message)) as err:
        config = make_config({"dataset": "dsprites", "holdout": text})
        HeldOut(DSprites(), parse_holdout(config.holdout, DSprites.factor_names))
    assert "\n" not in str(err.value)
