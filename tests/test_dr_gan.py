"""DR-GAN (models/dr_gan.py): the discriminator's identity (N_d + 1, fake last) and pose heads and both players'
objectives on cases whose value is known, the pose code as G's input, and one-line errors."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from disentanglement.config import check_run, make_config
from disentanglement.data import DATASETS
from disentanglement.models import BACKBONES, Batch
from disentanglement.models.dr_gan import BANK

pytestmark = pytest.mark.usefixtures("one_thread")
SETS = ["dr_gan.identity=shape", "dr_gan.pose=posX", "dr_gan.feature_dim=4", "dr_gan.noise_dim=2",
        "dr_gan.spectral_norm=false"]


def _model(*sets):
    config = make_config({"model": "dr_gan", "dataset": "glyphs"}, [*SETS, *sets])
    torch.manual_seed(0)
    data = DATASETS["glyphs"]()
    return BACKBONES["dr_gan"].build(config, data), data


def _batch(data, n=8, seed=0):
    images, factors = data.sample(n, np.random.default_rng(seed))
    return Batch(x=torch.from_numpy(images), factors=torch.from_numpy(factors), step=0,
                 generator=torch.Generator().manual_seed(seed))


def test_with_silent_heads_each_term_is_the_log_of_its_class_count():
    """Zero heads: D^d is uniform over N_d + 1 = 4 classes, D^p over N_p = 5 poses, whatever the images."""
    model, data = _model()
    for head in (model.identity_head, model.pose_head, model.d_head):
        torch.nn.init.zeros_(head.weight)
        torch.nn.init.zeros_(head.bias)
    batch = _batch(data)
    d_loss, d_logs = model.phases()[0].loss(batch)
    g_loss, g_logs = model.phases()[1].loss(batch)
    nd, np_ = math.log(3 + 1), math.log(5)
    for value, expected in ((d_logs["d_identity"], nd), (d_logs["d_pose"], np_), (d_logs["d_fake"], nd),
                            (d_loss, 2 * nd + np_), (g_logs["g_identity"], nd), (g_logs["g_pose"], np_),
                            (g_loss, nd + np_)):
        assert float(value.detach()) == pytest.approx(expected, abs=1e-5)


def test_the_objectives_are_the_cross_entropies_of_the_paper():
    """D: CE(D^d(x), y_d) + CE(D^p(x), y_p) + CE(D^d(x̂), fake); G: CE(D^d(x̂), y_d) + CE(D^p(x̂), c)."""
    model, data = _model()
    batch = _batch(data)
    d_loss, _ = model.phases()[0].loss(batch)
    code, fake = batch.shared["code"], batch.shared["fake"]
    y_d, y_p = batch.factors[:, 0], batch.factors[:, 1]
    real, seen = model.body(batch.x), model.body(fake)
    identity = lambda h: torch.cat([model.identity_head(h), -model.d_head(h)], 1)      # noqa: E731
    expected_d = (F.cross_entropy(identity(real), y_d) + F.cross_entropy(model.pose_head(real), y_p)
                  + F.cross_entropy(identity(seen), torch.full_like(y_d, 3)))
    torch.testing.assert_close(d_loss, expected_d)
    g_loss, _ = model.phases()[1].loss(batch)
    expected_g = F.cross_entropy(identity(seen), y_d) + F.cross_entropy(model.pose_head(seen), code.pose)
    torch.testing.assert_close(g_loss, expected_g)
    # G's input is [f(x), one-hot of the target pose, z]
    points = model.points(code)
    torch.testing.assert_close(points[:, :4], model.features(batch.x))
    assert (points[:, 4:9].argmax(1) == code.pose).all() and (points[:, 4:9].sum(1) == 1).all()


def test_the_pose_axis_redraws_the_anchor_in_each_pose_and_the_bank_wraps():
    model, data = _model()
    x = _batch(data).x
    anchors = model.anchors(x)
    pose = model.axes(x)[0]
    assert pose.name == "pose" and pose.move == "category" and pose.steps == 5
    moved = pose.apply(anchors)                                                       # (8, 5, P)
    torch.testing.assert_close(moved[:, :, :4], anchors[:, None, :4].expand(-1, 5, -1))   # identity kept
    assert (moved[:, :, 4:9].argmax(2) == torch.arange(5)).all()
    model._remember(torch.ones(BANK + 3, 4))
    model._remember(2 * torch.ones(5, 4))
    assert int(model.bank_filled) == BANK + 5 and (model.bank[:5] == 2).all() and (model.bank[5:] == 1).all()


@pytest.mark.parametrize("sets, message", [
    (["dr_gan.identity=colour"], "dr_gan.identity='colour' is not a factor of glyphs (its factors: shape, posX, posY)"),
    (["dr_gan.pose=angle"], "dr_gan.pose='angle' is not a factor of glyphs"),
    (["dr_gan.pose=shape"], "identity and pose must be different factors"),
    (["dr_gan.feature_dim=0"], "feature_dim must be a positive integer"),
])
def test_bad_settings_are_one_line_errors(sets, message):
    with pytest.raises(Exception) as err:
        check_run(make_config({"model": "dr_gan", "dataset": "glyphs"}, [*SETS, *sets]))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_the_identities_dataset_has_what_dr_gan_reads_by_default():
    config = make_config({"model": "dr_gan", "dataset": "identities"}, [])
    assert check_run(config) == []
