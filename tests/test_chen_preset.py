"""Chen et al. 2018's protocol as a shipped preset (--config chen2018_dsprites): its values, their nets, their
β / λ schedules."""
import pytest
import torch

from disentanglement.cli import main
from disentanglement.config import load_yaml, make_config, presets
from disentanglement.errors import UserError
from disentanglement.nets import build_vae_nets
from disentanglement.penalties.beta_tcvae import BetaTCVAEParams


def test_the_preset_is_their_repository_s_defaults():
    assert "chen2018_dsprites" in presets()
    config = make_config(load_yaml("chen2018_dsprites"))
    assert (config.model, config.dataset, config.batch_size, config.lr) == ("beta_tcvae", "dsprites", 2048, 1e-3)
    assert config.steps == 50 * 360                          # 50 epochs of ceil(737,280 / 2048) batches
    assert (config.backbone.latent_dim, config.backbone.net, config.penalty.estimator) == (10, "chen_mlp", "mws")


def test_an_unknown_config_names_the_presets():
    with pytest.raises(UserError, match="does not exist \\(shipped presets: chen2018_dsprites"):
        load_yaml("chen2019")


@pytest.mark.parametrize("net, sizes", [("chen_mlp", [4096 * 1200 + 1200, 1200 * 1200 + 1200, 1200 * 20 + 20]),
                                        ("chen_conv", None)])
def test_their_nets(net, sizes):
    encoder, decoder = build_vae_nets(net, (1, 64, 64), 10)
    mu, logvar = encoder(torch.zeros(3, 1, 64, 64))
    assert mu.shape == logvar.shape == (3, 10) and decoder(mu).shape == (3, 1, 64, 64)
    if sizes:                                                # weights + biases of the three linear layers
        assert [sum(q.numel() for q in layer.parameters()) for layer in encoder.net
                if isinstance(layer, torch.nn.Linear)] == sizes
    with pytest.raises(ValueError, match="net=chen_conv needs 64x64 images"):
        build_vae_nets("chen_conv", (1, 32, 32), 10)


def test_their_schedules():
    plain = BetaTCVAEParams(beta=6.0)
    assert plain.weights(0) == plain.weights(10 ** 6) == (1.0, 6.0, 1.0)
    both = BetaTCVAEParams(beta=6.0, anneal_beta=True, anneal_gamma=True, anneal_steps=7000)
    assert both.weights(0) == pytest.approx((1.0, 6.0 / 7000, 0.05 + 1 / 7000))         # t = 1
    assert both.weights(3499) == pytest.approx((1.0, 3.0, 1 - (0.95 - 0.5)))
    assert both.weights(6999)[1:] == pytest.approx((6.0, 1.0)) and both.weights(9999)[1:] == (6.0, 1.0)


def test_a_short_run_of_the_preset_trains(tmp_path, one_thread):
    assert main(["train", "--config", "chen2018_dsprites", "--steps", "2", "--set", "batch_size=32",
                 "--set", "penalty.anneal_beta=true", "--out", str(tmp_path / "r"), "--no-report", "--no-progress"]) == 0
    assert "beta_t" in (tmp_path / "r" / "log.jsonl").read_text()
