"""Proof on a toy: a β-TCVAE (β = 6) disentangles the squares better than the plain VAE.

Measured (squares, 4 latents, Adam lr 1e-3, 2000 steps, one thread, MIG on all 300 images):

    seed         0      1      2      3     mean
    VAE        0.034  0.120  0.114  0.068  0.084
    β-TCVAE    0.386  0.062  0.340  0.147  0.234

β-TCVAE wins on three seeds of four and by 0.15 on average (at 4000 steps: 0.32 vs 0.10, and
three wins and a tie).  A single seed is not a stable comparison at this length — seed 1 loses — so
the test asserts the mean margin (0.08, half the measured one) and the majority of wins.
"""
import numpy as np
import pytest
import torch

from disentanglement.config import make_config
from disentanglement.data import Squares
from disentanglement.metrics import mig
from disentanglement.models import build_model
from disentanglement.train import train


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)          # the measured numbers above are for one thread
    yield
    torch.set_num_threads(threads)


def _mig(tmp_path, model, seed, overrides):
    config = make_config({"model": model, "dataset": "squares", "steps": 2000, "seed": seed, "vae": {"latent_dim": 4},
                          "lr": 1e-3, "log_every": 2000, "checkpoint_every": 2000}, overrides)
    out = tmp_path / f"{model}{seed}"
    train(config, out, progress=False, tensorboard=False)
    data = Squares()
    net = build_model(config, data)
    net.load_state_dict(torch.load(out / "checkpoint.pt", weights_only=True)["model"])
    factors = data.index_to_factors(np.arange(len(data)))
    with torch.no_grad():
        codes = net.encode(torch.from_numpy(data.images(factors)))[0].numpy()
    return mig(codes, factors)["mig"]


def test_beta_tcvae_beats_plain_vae_on_mig(tmp_path, one_thread):
    seeds = range(4)
    vae = np.array([_mig(tmp_path, "beta_vae", s, ["penalty.beta=1"]) for s in seeds])
    tcvae = np.array([_mig(tmp_path, "beta_tcvae", s, ["penalty.beta=6"]) for s in seeds])
    assert tcvae.mean() - vae.mean() >= 0.08, (vae, tcvae)
    assert (tcvae > vae).sum() >= 3, (vae, tcvae)
