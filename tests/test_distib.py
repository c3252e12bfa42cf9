"""DisTIB (models/distib.py): the loss is the paper's bound term by term, the VIB objective keeps reconstruction
gradients out of A, the label is checked in one line, and a short run predicts held-out labels."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from disentanglement.config import check_run, make_config
from disentanglement.data import DATASETS, Split
from disentanglement.models import BACKBONES, Batch
from disentanglement.penalties._math import gaussian_kl
from disentanglement.runs import load_trained
from disentanglement.train import train

pytestmark = pytest.mark.usefixtures("one_thread")


def _model(*sets, dataset="glyphs"):
    config = make_config({"model": "distib", "dataset": dataset}, ["distib.label_dim=2", "distib.sample_dim=3", *sets])
    torch.manual_seed(0)
    return BACKBONES["distib"].build(config, DATASETS[dataset]()), DATASETS[dataset]()


def _batch(data, n=16, seed=0):
    rng = np.random.default_rng(seed)
    images, factors = data.sample(n, rng)
    return Batch(x=torch.from_numpy(images), factors=torch.from_numpy(factors), step=0,
                 generator=torch.Generator().manual_seed(seed))


def test_the_loss_is_the_papers_bounds_term_by_term():
    model, data = _model("distib.beta=0.3", "distib.reconstruction_weight=2", "distib.label_weight=0.5",
                         "distib.reconstruction=unit_gaussian")
    batch = _batch(data)
    loss, logs = model.phases()[0].loss(batch)
    (mu_a, logvar_a), (mu_z, logvar_z) = model.encoder_a(batch.x), model.encoder_z(batch.x)
    eps = torch.randn((16, 5), generator=torch.Generator().manual_seed(0))     # the generator's draw, A then Z
    a = mu_a + torch.exp(0.5 * logvar_a) * eps[:, :2]
    z = mu_z + torch.exp(0.5 * logvar_z) * eps[:, 2:]
    ce = F.cross_entropy(model.classifier(a), batch.factors[:, 0])             # glyphs: shape is factor 0
    recon = 0.5 * (torch.sigmoid(model.decoder(torch.cat([a, z], 1))) - batch.x).pow(2).flatten(1).sum(1).mean()
    kl = gaussian_kl(mu_a, logvar_a).sum(1).mean() + gaussian_kl(mu_z, logvar_z).sum(1).mean()
    torch.testing.assert_close(loss, 0.5 * ce + 2 * recon + 0.3 * kl, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(logs["ce"], ce)


def _grads(model, data):
    model.zero_grad()
    model.phases()[0].loss(_batch(data))[0].backward()             # a fresh batch: the same images and noise
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def test_vib_keeps_reconstruction_out_of_a_and_distib_does_not():
    """objective=vib: A's encoder gets exactly the gradient of CE + β KL(A) (Alemi et al. 2017); distib adds the
    reconstruction's; Z and the decoder learn the same reconstruction in both."""
    vib, data = _model("distib.objective=vib")
    distib, _ = _model()
    g_vib, g_distib = _grads(vib, data), _grads(distib, data)
    alone, _ = _model("distib.objective=vib", "distib.reconstruction_weight=0")
    g_alone = _grads(alone, data)
    for name in g_vib:
        if name.startswith(("encoder_a", "classifier")):
            torch.testing.assert_close(g_vib[name], g_alone[name])
        else:
            torch.testing.assert_close(g_vib[name], g_distib[name])
    moved = [n for n in g_vib if n.startswith("encoder_a") and not torch.allclose(g_vib[n], g_distib[n])]
    assert moved, "the reconstruction gradient should reach A under the DisTIB objective"


def test_codes_axes_and_decoding_have_the_documented_shapes():
    model, data = _model()
    x = _batch(data).x
    assert model.representation(x).shape == (16, 5)
    names = {a.name for a in model.axes(x)}
    assert names == {"a0", "a1", "z0", "z1", "z2"}
    assert model.decode(model.anchors(x)).shape == x.shape
    assert model.predict(x).shape == (16,)


@pytest.mark.parametrize("sets, message", [
    (["distib.label=colour"], "distib.label='colour' is not a factor of glyphs (its factors: shape, posX, posY)"),
    (["distib.objective=both"], "objective 'both'; choose one of: distib, vib"),
    (["distib.reconstruction=laplace"], "reconstruction 'laplace'"),
    (["distib.label_dim=0"], "label_dim must be a positive integer"),
])
def test_bad_settings_are_one_line_errors(sets, message):
    with pytest.raises(Exception) as err:
        config = make_config({"model": "distib", "dataset": "glyphs"}, sets)
        check_run(config)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_short_run_predicts_held_out_labels(tmp_path):
    """The glyphs' shape from the label code, on the fifth of the scenes training never saw (label_weight 10: at
    w_y = 1 the reconstruction outweighs the label in 300 steps, 0.67-0.73 held out)."""
    config = make_config({"model": "distib", "dataset": "glyphs", "steps": 300, "lr": 3e-3, "batch_size": 32,
                          "log_every": 100}, ["distib.label_dim=2", "distib.sample_dim=3", "distib.label_weight=10"])
    train(config, tmp_path / "run", progress=False, tensorboard=False)
    _, data, model, _ = load_trained(tmp_path / "run")
    test = Split(data, "test")
    f = data.index_to_factors(test.index)                                     # every held-out scene
    predicted = model.predict(torch.from_numpy(data.images(f)))
    assert (predicted.numpy() == f[:, 0]).mean() >= 0.8                      # chance: 1/3
