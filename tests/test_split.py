"""Held-out scenes for models supervised by labels: the authors' split of Pendulum and Flow, training draws only
train scenes, every metric of such a run only held-out ones, and the authors' label scaling."""
import numpy as np
import pytest
import torch

from disentanglement.config import make_config
from disentanglement.data import DATASETS, BatchStream, Flow, Pendulum, Shadows, Split
from disentanglement.data.split import part_index
from disentanglement.errors import UserError
from disentanglement.evaluate import concept_scores, evaluate_run
from disentanglement.models import build_model
from disentanglement.train import train

pytestmark = pytest.mark.usefixtures("one_thread")


def _authors_split(n, flow):
    """The authors' counters as their generators run them (pendulum.py / flow.py), scene by scene in grid order."""
    test, count = [], 0
    for k in range(n):
        if count == 4:
            test.append(k)
            count = 0 if flow else 1      # Flow resets to 0 and does not count the test scene; Pendulum counts it
        else:
            count += 1
    return np.array(test)


@pytest.mark.parametrize("cls, n_train, n_test", [(Pendulum, 5482, 1826), (Flow, 6480, 1620)])
def test_the_authors_split_disjoint_and_complete(cls, n_train, n_test):
    data = cls()
    train_idx, test_idx = part_index(data, "train"), part_index(data, "test")
    assert (len(train_idx), len(test_idx)) == (n_train, n_test)       # 5,482 training scenes: 101 epochs = 8,686 steps
    assert not set(train_idx) & set(test_idx) and len(train_idx) + len(test_idx) == len(data)
    np.testing.assert_array_equal(test_idx, _authors_split(len(data), flow=cls is Flow))


def test_split_draws_only_its_part_and_keeps_the_dataset():
    data = Pendulum(size=16)
    test = Split(data, "test")
    held = set(part_index(data, "test"))
    for rng in (np.random.RandomState(0), np.random.default_rng(0)):
        f = test.sample_factors(500, rng)
        assert set(data.factors_to_index(f)) <= held
    f = test.sample_factors(3, np.random.default_rng(1))
    np.testing.assert_array_equal(test.images(f), data.images(f))
    np.testing.assert_array_equal(test.concepts(f), data.concepts(f))
    assert test.concept_names == data.concept_names and len(test) == len(data)
    with pytest.raises(ValueError, match="unknown split part"):
        Split(data, "validation")


def test_a_supervised_model_trains_on_train_scenes_only(monkeypatch, tmp_path):
    seen = []
    original = BatchStream.__init__

    def spy(self, dataset, *args, **kwargs):
        seen.append(dataset)
        original(self, dataset, *args, **kwargs)

    monkeypatch.setattr(BatchStream, "__init__", spy)
    config = make_config({"model": "causal_vae", "dataset": "shadows", "steps": 3}, ["causal_vae.latent_dim=6"])
    train(config, tmp_path / "c", progress=False, tensorboard=False)
    train(make_config({"dataset": "shadows", "steps": 1}, ["vae.latent_dim=3"]), tmp_path / "v", progress=False,
          tensorboard=False)
    assert isinstance(seen[0], Split) and seen[0].part == "train"
    assert not isinstance(seen[1], Split)                             # an unsupervised VAE sees every scene


def test_every_metric_of_a_supervised_run_sees_held_out_scenes_only(tmp_path):
    config = make_config({"model": "causal_vae", "dataset": "shadows", "steps": 2}, ["causal_vae.latent_dim=6"])
    train(config, tmp_path / "c", progress=False, tensorboard=False)
    data = Shadows()
    held = set(part_index(data, "test"))
    shown = []

    def spy(images):                                                  # which scenes reach the encoder
        shown.append(images)
        return images.reshape(len(images), -1)[:, :6].astype(np.float64)

    concept_scores(Split(data, "test"), spy)
    seen = {tuple(r) for batch in shown for r in batch.reshape(len(batch), -1)}
    allowed = {tuple(r) for r in data.images(data.index_to_factors(sorted(held))).reshape(len(held), -1)}
    assert seen and seen <= allowed
    record = evaluate_run(tmp_path / "c", metrics=["mig", "dci", "mic"], progress=False)
    assert record["scored_on"].startswith(f"held-out scenes ({len(held)} of {len(data)}")
    assert {"mig", "dci.disentanglement", "mic"} <= set(record["metrics"])
    assert "beta_vae" not in evaluate_run(tmp_path / "c", progress=False)["metrics"]   # dropped from the suite
    with pytest.raises(UserError, match="leaves the held-out split"):
        evaluate_run(tmp_path / "c", metrics=["factor_vae"], progress=False)


def test_the_authors_label_scaling_on_pendulum():
    data = Pendulum(size=16)
    torch.manual_seed(0)
    model = build_model(make_config({"model": "causal_vae", "dataset": "pendulum"}, ["causal_vae.net=mlp"]), data)
    f = data.index_to_factors(np.array([0, 1000, 7307]))
    c = data.concepts(f)
    u = model.label_of(torch.from_numpy(f)).double().numpy()
    # mask_vae_pendulum.py: scale = [[0, 44], [100, 40], [6.5, 3.5], [10, 5]], u = (label - scale[0]) / scale[1]
    expected = (c - np.array([0, 100, 6.5, 10])) / np.array([44, 40, 3.5, 5])
    np.testing.assert_allclose(u, expected, rtol=1e-6, atol=1e-6)      # float32 labels: 2**-24 relative
    assert u[0, 0] == pytest.approx(-40 / 44, rel=1e-6) and u[-1, 1] == pytest.approx(47 / 40, rel=1e-6)


def test_the_authors_length_is_causal_vaes_default_on_their_datasets():
    steps = {name: make_config({"model": "causal_vae", "dataset": name}).steps for name in ("pendulum", "flow64")}
    assert steps == {"pendulum": 101 * 86, "flow64": 101 * 102}       # 101 epochs of 5,482 / 6,480 scenes, batch 64
    assert make_config({"model": "causal_vae", "dataset": "pendulum", "steps": 5}).steps == 5   # the user's wins
    assert make_config({"model": "beta_vae", "dataset": "pendulum"}).steps == 3000           # other models: as before


def test_the_authors_start_of_a():
    data = Pendulum(size=16)
    model = build_model(make_config({"model": "causal_vae", "dataset": "pendulum"},
                                    ["causal_vae.net=mlp", "causal_vae.init_authors=true"]), data)
    expected = data.adjacency.copy()
    expected[0, 1] = 1                                                 # the extra edge: pendulum angle -> light angle
    np.testing.assert_array_equal(model.A.detach().numpy(), expected)
    with pytest.raises(UserError, match="defined for pendulum and flow"):
        make_config({"model": "causal_vae", "dataset": "shadows"}, ["causal_vae.latent_dim=6", "causal_vae.init_authors=true"])
    with pytest.raises(UserError, match="init_graph and causal_vae.init_authors are different starts"):
        make_config({"model": "causal_vae", "dataset": "pendulum"}, ["causal_vae.init_authors=true", "causal_vae.init_graph=true"])
    with pytest.raises(UserError, match="init_authors and causal_vae.init_discovered are different starts"):
        make_config({"model": "causal_vae", "dataset": "pendulum"}, ["causal_vae.init_authors=true", "causal_vae.init_discovered=true"])


def test_the_generic_split_holds_out_every_value_of_every_factor():
    """A stride in flat order would hold out posY = 4 only on the glyphs (innermost size 5 = the stride)."""
    for data in (DATASETS["glyphs"](), DATASETS["squares"]()):
        test = part_index(data, "test")
        assert len(test) == len(data) // 5
        np.testing.assert_array_equal(test, part_index(data, "test"))               # fixed: the same every call
        seen = data.index_to_factors(test)
        for k, size in enumerate(data.factor_sizes):
            assert len(np.unique(seen[:, k])) == size, (data.name, data.factor_names[k])
