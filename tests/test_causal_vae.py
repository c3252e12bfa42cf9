"""CausalVAE: the acyclicity constraint, interventions through the graph, the augmented Lagrangian, bad input."""
import numpy as np
import pytest
import torch

from disentanglement.cli import main
from disentanglement.config import make_config
from disentanglement.data import Shadows
from disentanglement.models import build_model
from disentanglement.models.base import Batch
from disentanglement.models.causal_vae import acyclicity, check_adjacency

pytestmark = pytest.mark.usefixtures("one_thread")


def _model(*sets):
    torch.manual_seed(0)
    return build_model(make_config({"model": "causal_vae", "dataset": "shadows"}, ["causal_vae.latent_dim=6", *sets]),
                       Shadows())


def test_acyclicity_is_zero_for_a_dag_and_positive_for_a_cycle():
    dag = torch.tensor([[0.0, 1.0, 1.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    assert abs(float(acyclicity(dag))) < 1e-6
    cycle = dag.clone()
    cycle[2, 0] = 1.0                                                  # 0 -> 2 -> 0
    assert float(acyclicity(cycle)) > 0.01
    assert float(acyclicity(0.5 * cycle)) < float(acyclicity(cycle))  # weaker cycle, smaller h


def test_interventions_follow_the_graph():
    model = _model("causal_vae.init_graph=true").eval()                # A = the true graph: lamp, height -> shadow
    eps = torch.randn(5, 3, 2, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        base = model.masked(model.causal(eps), eps)
        lamp = model.intervene(eps, "lamp", 1.5)                       # a root
        shadow = model.intervene(eps, "shadow", -1.0)                  # a child
    assert torch.all(lamp[:, 0] == 1.5) and torch.equal(lamp[:, 1], base[:, 1])   # the other root unchanged
    assert not torch.allclose(lamp[:, 2], base[:, 2])                  # its child follows
    assert torch.all(shadow[:, 2] == -1.0)
    assert torch.equal(shadow[:, :2], base[:, :2])                     # the child's parents do not
    with pytest.raises(ValueError, match="unknown concept 'sun'; choose one of: lamp, height, shadow"):
        model.intervene(eps, "sun", 0.0)
    axes = model.axes(torch.zeros(1, 1, 16, 16), steps=3)
    assert [a.name for a in axes] == ["lamp", "do(lamp)", "height", "do(height)", "shadow", "do(shadow)"]
    points = model.anchors(torch.from_numpy(Shadows().sample(2, np.random.default_rng(0))[0]))
    plain, do = model.traverse(points, axes[0]), model.traverse(points, axes[1])
    assert plain.shape == do.shape == (2, 3, 1, 16, 16) and not torch.allclose(plain, do)


def test_graph_starts_at_zero_and_the_lagrangian_tightens():
    model = _model("causal_vae.dag_every=2")
    assert torch.count_nonzero(model.A) == 0
    data = Shadows()
    factors = torch.from_numpy(data.index_to_factors(np.arange(len(data))))
    x = torch.from_numpy(data.images(factors.numpy()))
    with torch.no_grad():
        model.A.copy_(torch.tensor([[0.0, 0.5, 0.0], [0.5, 0.0, 0.0], [0.0, 0.0, 0.0]]))   # a 2-cycle: h > 0
    lam, rho = float(model.dag_lambda), float(model.dag_rho)
    loss, logs = model.phases()[0].loss(Batch(x, 2, torch.Generator().manual_seed(0), factors))
    assert torch.isfinite(loss) and float(logs["h_A"]) > 0
    h = float(logs["h_A"])
    assert float(model.dag_lambda) == pytest.approx(lam + rho * h) and float(model.dag_rho) == rho   # λ <- λ + ρ h
    model.phases()[0].loss(Batch(x, 3, torch.Generator().manual_seed(0), factors))                # not an update step
    assert float(model.dag_lambda) == pytest.approx(lam + rho * h)
    model.phases()[0].loss(Batch(x, 4, torch.Generator().manual_seed(0), factors))
    assert float(model.dag_rho) == pytest.approx(10 * rho)             # h did not fall by a quarter: ρ x 10
    fixed = _model("causal_vae.dag=fixed", "causal_vae.dag_every=1")
    fixed.phases()[0].loss(Batch(x, 1, None, factors))
    assert (float(fixed.dag_lambda), float(fixed.dag_rho)) == (3.0, 1.0)
    with pytest.raises(ValueError, match="supervised by concept labels"):
        model.phases()[0].loss(Batch(x, 0))


def test_labels_are_the_normalised_concepts():
    model = _model()
    data = Shadows()
    f = data.index_to_factors(np.arange(len(data)))
    u = model.label_of(torch.from_numpy(f)).numpy()
    c = data.concepts(f)
    # float32 z-scores (mean and std over the set) against float64: ~1e-6 relative; atol for values near zero
    np.testing.assert_allclose(u, (c - c.mean(0)) / c.std(0), rtol=1e-5, atol=1e-6)


def test_bad_input_is_one_line(capsys, tmp_path):
    with pytest.raises(ValueError, match="must be square"):
        check_adjacency(np.zeros((3, 2)), 3)
    for argv, needle in ((["--dataset", "squares"], "needs a dataset with concepts"),
                         (["--dataset", "shadows", "--set", "causal_vae.latent_dim=7"], "multiple of 3"),
                         (["--dataset", "shadows", "--set", "causal_vae.dag=notears"], "lagrangian, fixed")):
        assert main(["train", "--model", "causal_vae", *argv, "--out", str(tmp_path / "r")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and needle in err, err


def test_evaluate_scores_concept_blocks_with_mic(tmp_path):
    from disentanglement.errors import UserError
    from disentanglement.evaluate import evaluate_run
    from disentanglement.train import train

    config = make_config({"model": "causal_vae", "dataset": "shadows", "steps": 2}, ["causal_vae.latent_dim=6"])
    train(config, tmp_path / "c", progress=False, tensorboard=False)
    record = evaluate_run(tmp_path / "c", metrics=["mig", "mic"], progress=False)
    m = record["metrics"]
    assert {"mig", "mic", "tic", "mic.0", "mic.2"} <= set(m) and 0 <= m["tic"] <= m["mic"] <= 1
    train(make_config({"dataset": "squares", "steps": 1}, ["vae.latent_dim=3"]), tmp_path / "v", progress=False,
          tensorboard=False)
    with pytest.raises(UserError, match="mic needs a dataset with concept labels"):
        evaluate_run(tmp_path / "v", metrics=["mic"], progress=False)


def test_no_concept_causes_itself():
    """A's diagonal is masked: a self-loop would let the label reconstruction read a concept from itself."""
    model = _model()
    with torch.no_grad():
        model.A.copy_(torch.eye(3))
    assert torch.count_nonzero(model.adjacency()) == 0 and np.count_nonzero(model.graph()[0]) == 0
    eps = torch.randn(4, 3, 2, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(model.causal(eps), eps)                     # no edge: z = ε
