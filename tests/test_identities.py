"""The identities-in-poses dataset (data/identities.py): deterministic, on the canvas, and each factor visible."""
import numpy as np

from disentanglement.data import DATASETS, Identities
from disentanglement.data.identities import OFFSETS


def test_identities_are_the_same_on_every_instance_and_fit_the_canvas():
    a, b = Identities(), Identities()
    f = a.sample_factors(500, np.random.default_rng(0))
    x = a.images(f)
    np.testing.assert_array_equal(x, b.images(f))
    assert x.shape == (500, 1, 64, 64) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    border = np.concatenate([x[:, 0, 0], x[:, 0, -1], x[:, 0, :, 0], x[:, 0, :, -1]])
    assert border.max() == 0                                         # no outline is cut by the edge
    assert DATASETS["identities"] is Identities and len(a) == 100 * 9 * 4 * 4


def test_pose_turns_the_outline_and_position_shifts_it():
    d = Identities()
    x = d.images(np.array([[3, 4, 1, 1], [3, 5, 1, 1], [4, 4, 1, 1], [3, 4, 2, 1]]))[:, 0]
    assert np.abs(x[0] - x[1]).sum() > 20                            # another pose: another image
    assert np.abs(x[0] - x[2]).sum() > 20                            # another identity: another image
    shift = int(OFFSETS[2] - OFFSETS[1])                             # posX 1 -> 2: the same image, moved right
    np.testing.assert_array_equal(np.roll(x[0], shift, axis=1), x[3])
    # the area is a property of the identity, not of its pose (turning keeps it, up to the edge ramp)
    areas = d.images(np.array([[7, p, 0, 0] for p in range(9)]))[:, 0].sum((1, 2))
    assert areas.std() / areas.mean() < 0.02
