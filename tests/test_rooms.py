"""Two rooms and a door (data/rooms.py): the scenes, the dynamics that never pass the wall but at the door, the
feasibility of a move, the readout, and the transition pairs the trainer draws from it."""
import numpy as np
import pytest

from disentanglement.data import DATASETS, BatchStream, Rooms, pair_sampler
from disentanglement.data.rooms import NEIGHBOUR_RMS, crosses_wall


def test_each_scene_is_the_walled_world_and_one_agent():
    d = Rooms()
    grid = d.index_to_factors(np.arange(len(d)))
    x = d.images(grid)
    assert DATASETS["rooms"] is Rooms and x.shape == (64, 1, 32, 32) and x.dtype == np.float32
    assert ((x == 1.0).sum((1, 2, 3)) == 25).all()                   # one 5x5 agent, never on the wall
    assert len({im.tobytes() for im in x}) == 64                     # every cell its own scene
    wall = x[0, 0, :, 15]
    assert (wall[:13] == 0.5).all() and (wall[13:21] == 0).all() and (wall[21:] == 0.5).all()   # door at rows 3-4
    near = np.sqrt(((x[0] - x[1]) ** 2).mean())                      # cells (0, 0) and (0, 1)
    assert near == pytest.approx(NEIGHBOUR_RMS)


def test_a_move_is_feasible_between_neighbours_not_across_the_wall():
    a = np.array([[2, 2], [2, 2], [2, 2], [3, 2], [3, 3], [4, 4], [3, 3], [1, 1]])
    b = np.array([[2, 2], [3, 2], [3, 3], [4, 2], [4, 3], [3, 4], [5, 3], [1, 3]])
    assert Rooms.feasible(a, b).tolist() == [True, True, False, False, True, True, False, False]
    assert crosses_wall(a, b).tolist() == [False, False, False, True, False, False, False, False]   # 6: two cells, by the door


def test_the_dynamics_move_one_cell_and_pass_the_wall_only_through_the_door():
    d = Rooms()
    rng = np.random.default_rng(0)
    a = d.sample_factors(20000, rng)
    b = d.transition(a, rng)
    assert Rooms.feasible(a, b).all()
    moved = np.abs(a - b).sum(1)
    assert 0.6 < (moved == 1).mean() < 0.9                          # most tries move; edges and the wall refuse some
    passed = (a[:, 0] <= 3) != (b[:, 0] <= 3)
    assert passed.any() and np.isin(a[passed, 1], (3, 4)).all()      # rooms change only at the door
    stuck = np.array([[3, 0]] * 2000)                                # beside the wall, far from the door
    assert (d.transition(stuck, rng)[:, 0] <= 3).all()


def test_the_readout_reads_every_scene_and_flags_a_smear():
    d = Rooms()
    grid = d.index_to_factors(np.arange(len(d)))
    cells, rms = d.read(d.images(grid))
    np.testing.assert_array_equal(cells, grid)
    assert rms.max() == 0
    two = np.maximum(*d.images(np.array([[1, 1], [6, 6]])))[None]     # two agents at once: no scene is near
    assert d.read(two)[1][0] > 0.5 * NEIGHBOUR_RMS                  # beyond the benchmark's legibility bound
    with pytest.raises(ValueError, match="32x32 single-channel"):
        d.read(np.zeros((1, 1, 64, 64)))


def test_transition_pairs_reach_the_batches_and_need_dynamics():
    d = Rooms()
    with BatchStream(d, 64, np.random.default_rng(1), pairs=pair_sampler(d, "transition")) as stream:
        drawn = next(stream)
    assert drawn.images2.shape == (64, 1, 32, 32)
    assert Rooms.feasible(drawn.factors, drawn.factors2).all()
    np.testing.assert_array_equal(drawn.images2, d.images(drawn.factors2))
    with pytest.raises(ValueError, match="use --dataset rooms"):
        pair_sampler(DATASETS["squares"](), "transition")
