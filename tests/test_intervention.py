"""The intervention-effect matrix and intervention consistency (viz/intervention.py): the renderer under its SCM
scores 1, the renderer whose do() does not propagate (A = 0) scores 0.5; the SCMs' do(); concept rendering."""
import numpy as np
import pytest
import torch

from disentanglement.config import make_config
from disentanglement.data import Flow, Pendulum, Shadows, Split
from disentanglement.data.concept_scenes import ConceptScenes
from disentanglement.models.base import Axis
from disentanglement.runs import load_trained
from disentanglement.train import train
from disentanglement.viz.intervention import consistency, descendants, model_intervention_effects, noise_floor


def read_shadows(images: torch.Tensor) -> torch.Tensor:
    """The exact readout of the shadows toy: (N, 1, 16, 16) -> lamp column, post height, shadow length, each as a
    fraction of its range on the scene grid."""
    x = images[:, 0].numpy()
    lamp = x[:, 0:2].sum(1).argmax(1).astype(float)                   # the lamp's left column
    height = (x[:, 2:15, 12] == 1.0).sum(1).astype(float)          # below the lamp's rows
    shadow = (x[:, 15, 12:] == 0.5).sum(1) - 1.0
    values = np.stack([lamp, height, shadow], 1)
    ranges = ConceptScenes(Shadows()).ranges
    return torch.from_numpy((values - ranges[:, 0]) / (ranges[:, 1] - ranges[:, 0]))


class RendererModel(torch.nn.Module):
    """The shadows renderer as a model: points are concept values, do(c) sets c and (``propagate``) recomputes
    what it causes by the dataset's SCM — with propagate=False the graph is empty (A = 0)."""

    name = "renderer"

    def __init__(self, propagate: bool):
        super().__init__()
        self.data, self.propagate = Shadows(), propagate
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def _values(self, images):
        ranges = ConceptScenes(self.data).ranges
        return torch.from_numpy(read_shadows(images.cpu()).numpy() * (ranges[:, 1] - ranges[:, 0]) + ranges[:, 0])

    def anchors(self, images, generator=None):
        return self._values(images)

    representation = anchors

    def axes(self, images, steps: int = 9):
        return [Axis(f"do({n})", slice(i, i + 1), np.zeros(steps), "set", intervene=True)
                for i, n in enumerate(self.data.concept_names)]

    def traverse(self, points, axis):
        i, rows = axis.columns.start, []
        for v in axis.values:
            values = points.numpy().copy()
            values = self.data.do(values, i, v) if self.propagate else np.concatenate(
                [values[:, :i], np.full((len(values), 1), v), values[:, i + 1:]], 1)
            rows.append(torch.from_numpy(self.data.render_concepts(values)))
        return torch.stack(rows, 1)


def test_descendants_and_the_floor_follow_the_graph():
    chain = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]])               # 0 -> 1 -> 2
    assert descendants(chain).tolist() == [[False, True, True], [False, False, True], [False, False, False]]
    truth = np.array([[0.9, 0.5, 0.4], [0.02, 0.8, 0.6], [0.03, 0.07, 1.0]])
    np.testing.assert_allclose(noise_floor(truth, chain), [0.03, 0.07, 0.0])   # 2 is reached by every other
    assert consistency(np.array([[1, .5, .4], [0, 1, .6], [0, 0, 1]]), chain) == 1.0
    assert consistency(np.array([[1, 0, 0], [.5, 1, 0], [.4, .6, 1]]), chain) == 0.0     # against the graph
    assert consistency(np.eye(3), chain) == 0.5                                          # no edge moves anything


@pytest.mark.parametrize("propagate, expected", [(True, 1.0), (False, 0.5)])
def test_renderer_scores_one_and_a_graph_without_edges_scores_chance(propagate, expected):
    result = model_intervention_effects(RendererModel(propagate), Shadows(), read_shadows, anchors=12, steps=5)
    assert result["intervention.consistency"] == expected
    assert result["true_consistency"] == 1.0
    np.testing.assert_allclose(result["floor"], 0.0)                  # an exact readout has no noise floor
    effect = result["intervention.effect"]
    assert (np.diag(effect) > 0.25).all()                             # every do() moves its own concept
    if not propagate:
        assert (effect[~np.eye(3, dtype=bool)] == 0).all()


@pytest.mark.parametrize("dataset", [Pendulum(size=32), Flow(size=32)])
def test_do_recomputes_descendants_only_and_concepts_render_as_the_dataset(dataset):
    rng = np.random.default_rng(0)
    factors = dataset.sample_factors(6, rng)
    values = dataset.concepts(factors)
    np.testing.assert_array_equal(dataset.render_concepts(values), dataset.images(factors))
    reach = descendants(dataset.adjacency)
    for i in range(4):
        moved = dataset.do(values, i, values[:, i] + 1.0) != values                    # (6, 4)
        assert moved[:, i].all()
        assert not moved[:, ~reach[i] & (np.arange(4) != i)].any()                      # non-descendants held
        assert moved[:, reach[i]].any(0).all()                                          # descendants follow


def test_pendulum_do_matches_the_generator_and_shadow_do_leaves_the_rest():
    data = Pendulum(size=32)
    f = np.array([[10, 20], [50, 70]])
    values = data.concepts(f)
    swung = data.do(values, 0, float(data.factor_values[0][f[0, 0] + 5]))              # pendulum 5 steps on
    np.testing.assert_allclose(swung[0], data.concepts(np.array([[15, 20]]))[0])
    shadow = data.do(values, 2, 7.0)
    assert (shadow[:, :2] == values[:, :2]).all() and (shadow[:, 3] == values[:, 3]).all()
    before, after = data.render_concepts(values), data.render_concepts(shadow)
    assert not np.array_equal(before[:, :, -3:], after[:, :, -3:])                     # the shadow row changed
    np.testing.assert_array_equal(before[:, :, :20], after[:, :, :20])                  # pendulum and light did not


def test_concept_scenes_draw_concepts_independently():
    scenes = ConceptScenes(Pendulum(size=32))
    values = scenes.sample_values(4000, np.random.default_rng(0))
    corr = np.corrcoef(values.T)
    assert np.abs(corr[~np.eye(4, dtype=bool)]).max() < 0.06           # the shadow no longer follows the angles
    images, classes = scenes.sample(3, np.random.default_rng(1))
    assert images.shape == (3, 3, 32, 32) and classes.shape == (3, 4) and classes.max() < scenes.bins


def test_causal_vae_intervention_effects_on_held_out_scenes(tmp_path, one_thread):
    config = make_config({"model": "causal_vae", "dataset": "shadows", "steps": 30}, ["causal_vae.latent_dim=6"])
    train(config, tmp_path / "run", progress=False, tensorboard=False)
    _, data, model, _ = load_trained(tmp_path / "run")
    result = model_intervention_effects(model, Split(data, "test"), read_shadows, anchors=4, steps=3)
    assert result["raw"].shape == (3, 3) and 0.0 <= result["intervention.consistency"] <= 1.0
    assert (result["intervention.effect"] >= 0).all()


def test_a_model_without_interventions_or_a_dataset_without_a_renderer_is_one_line(tmp_path, one_thread):
    from disentanglement.data import Squares
    train(make_config({"dataset": "squares", "steps": 2}, ["vae.latent_dim=3"]), tmp_path / "v", progress=False,
          tensorboard=False)
    _, _, vae, _ = load_trained(tmp_path / "v")
    with pytest.raises(ValueError, match="needs a dataset with a causal graph"):
        model_intervention_effects(vae, Squares(), read_shadows)
    with pytest.raises(ValueError, match="has no intervention on lamp, height, shadow"):
        model_intervention_effects(vae, Shadows(), read_shadows)
    with pytest.raises(ValueError, match="cannot render given concept values"):
        ConceptScenes(Squares())


def test_report_and_evaluate_show_interventions_of_a_causal_vae(tmp_path, one_thread, capsys):
    from disentanglement.cli import main
    from disentanglement.report import write_report
    run = tmp_path / "run"
    train(make_config({"model": "causal_vae", "dataset": "shadows", "steps": 20}, ["causal_vae.latent_dim=6"]), run,
          progress=False, tensorboard=False)
    page = write_report(run, progress=False, steps=3, score_seeds=2).read_text()
    assert "<h2>Interventions</h2>" in page and "Intervention consistency" in page
    assert (run / "figures" / "interventions.png").exists() and (run / "figures" / "intervention_effect.png").exists()
    assert main(["evaluate", str(run), "--metrics", "intervention", "--no-progress"]) == 0
    record = __import__("json").loads((run / "metrics.json").read_text())
    assert 0 <= record["metrics"]["intervention.consistency"] <= 1
    assert record["intervention_effect"]["concepts"] == ["lamp", "height", "shadow"]
    assert "held-out" in record["scored_on"]


def test_evaluate_refuses_intervention_where_it_cannot_be_measured(tmp_path, one_thread, capsys):
    from disentanglement.cli import main
    train(make_config({"dataset": "squares", "steps": 2}, ["vae.latent_dim=3"]), tmp_path / "sq", progress=False,
          tensorboard=False)
    train(make_config({"dataset": "shadows", "steps": 2}, ["vae.latent_dim=3"]), tmp_path / "sh", progress=False,
          tensorboard=False)
    assert main(["evaluate", str(tmp_path / "sq"), "--metrics", "intervention", "--no-progress"]) == 2
    assert "needs a dataset with a causal graph" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "sh"), "--metrics", "intervention", "--no-progress"]) == 2
    assert "has no intervention on lamp, height, shadow" in capsys.readouterr().err
    assert not (tmp_path / "sq" / "metrics.json").exists() and not (tmp_path / "sh" / "metrics.json").exists()
