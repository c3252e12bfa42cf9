"""The traversal score: ~1 for a decoder whose latents are the factors, low for a mixing of them."""
import numpy as np
import pytest
import torch

from disentanglement import viz
from disentanglement.data import Squares
from disentanglement.errors import UserError
from disentanglement.viz.factor_predictor import cache_key

DATA = Squares()
SIZES = np.array(DATA.factor_sizes)
SCALE = (SIZES - 1) / 4.0                      # z in [-2, 2] spans each factor's range


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def predictor():
    torch.set_num_threads(1)
    model, accuracy = viz.train_factor_predictor(DATA, steps=600)
    assert min(accuracy) >= 0.95, accuracy
    return model


def renderer(mixing: np.ndarray):
    """decode(z) = the dataset's own renderer at factors round(M z) (M = identity: latents are factors)."""
    m = torch.as_tensor(mixing, dtype=torch.float64)

    def decode(z):                                                        # (B, K) -> (B, 1, 16, 16)
        f = (z.double() @ m.T).numpy() * SCALE + (SIZES - 1) / 2
        return torch.from_numpy(DATA.images(np.clip(np.round(f), 0, SIZES - 1).astype(np.int64)))
    return decode


def seed_codes(mixing: np.ndarray, n: int = 24) -> torch.Tensor:
    factors = DATA.sample_factors(n, np.random.default_rng(1))            # (N, K)
    z = (factors - (SIZES - 1) / 2) / SCALE                               # codes whose M-image is the factors
    return torch.as_tensor(np.linalg.solve(mixing, z.T).T, dtype=torch.float32)


def score(mixing, predictor):
    values = viz.sweep_values(3, limit=2.0, steps=9)
    effect = viz.traversal_effects(renderer(mixing), predictor.readout, seed_codes(mixing), values)
    return effect, viz.traversal_score(effect)


def test_latents_that_are_the_factors_score_one(predictor):
    effect, result = score(np.eye(3), predictor)
    assert result["score"] > 0.9 and result["active"].all()
    assert result["main_factor"].tolist() == [0, 1, 2]
    assert (np.diag(effect) > 0.4).all()                                  # each knob moves its own factor a lot


def test_permuted_latents_still_score_one(predictor):
    perm = np.eye(3)[[2, 0, 1]]                                           # z0 -> size, z1 -> posX, z2 -> posY
    _, result = score(perm, predictor)
    assert result["score"] > 0.9 and result["main_factor"].tolist() == [1, 2, 0]


def test_a_mixing_of_the_factors_scores_low(predictor):
    helmert = np.array([[1, 1, 1], [1, -1, 0], [1, 1, -2]]) / np.sqrt([[3], [2], [6]])  # orthogonal, all mixed
    effect, result = score(helmert.T, predictor)
    assert result["active"].all() and result["score"] < 0.6
    assert (effect > 0.05).sum() >= 7                                     # most knobs move several factors


def test_score_from_an_effect_matrix():
    effect = np.array([[0.6, 0.2, 0.2], [0.0, 0.3, 0.0], [0.01, 0.01, 0.0]])
    result = viz.traversal_score(effect, min_effect=0.05)
    assert result["active"].tolist() == [True, True, False]
    np.testing.assert_allclose(result["share"][:2], [0.6, 1.0])
    assert result["score"] == pytest.approx(0.8) and result["main_factor"].tolist() == [0, 1, -1]
    assert np.isnan(viz.traversal_score(np.zeros((2, 3)))["score"])
    gated = viz.traversal_score(effect, kl=np.array([0.0, 1.0, 1.0]))   # a latent without KL is not active
    assert gated["active"].tolist() == [False, True, False] and gated["score"] == 1.0


def test_dataset_without_factors_is_a_user_error():
    class Unlabelled:
        name, factor_names, factor_sizes = "photos", (), ()
    with pytest.raises(UserError, match="dataset 'photos' has no known factors"):
        viz.model_traversal_score(None, Unlabelled(), None, values=np.zeros((1, 2)))


def test_predictor_cache_is_reused_and_keyed(tmp_path, monkeypatch):
    path = tmp_path / "factor_predictor.pt"
    first, accuracy = viz.load_or_train(DATA, path, steps=5)
    assert path.exists() and len(accuracy) == 3
    calls = []
    monkeypatch.setattr(viz.factor_predictor, "train_factor_predictor",
                        lambda *a, **k: calls.append(k) or (first, accuracy))
    again, _ = viz.load_or_train(DATA, path, steps=5)                   # same key: loaded, not trained
    assert not calls and all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), again.state_dict().values()))
    viz.load_or_train(DATA, path, steps=6)                               # other settings: stale, retrained
    assert len(calls) == 1 and cache_key(DATA, steps=5, seed=0) != cache_key(DATA, steps=6, seed=0)
    path.write_bytes(b"not a checkpoint")                                 # damaged cache: retrained
    viz.load_or_train(DATA, path, steps=5)
    assert len(calls) == 2
