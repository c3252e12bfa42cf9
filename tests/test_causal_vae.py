"""CausalVAE: the acyclicity constraint, interventions through the graph, the augmented Lagrangian on window means
(no escalation on noise), bad input."""
import numpy as np
import pytest
import torch

from disentanglement.cli import main
from disentanglement.config import make_config
from disentanglement.data import Shadows
from disentanglement.models import build_model
from disentanglement.models.base import Batch
from disentanglement.models.causal_vae import acyclicity, check_adjacency
from disentanglement.models.dag import lagrangian_update

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


def test_graph_starts_at_zero_and_the_lagrangian_moves_on_window_means():
    model = _model("causal_vae.dag_every=2", "causal_vae.dag_loss_tol=1e9")     # every window counts as solved
    assert torch.count_nonzero(model.A) == 0
    data = Shadows()
    factors = torch.from_numpy(data.index_to_factors(np.arange(len(data))))
    x = torch.from_numpy(data.images(factors.numpy()))
    with torch.no_grad():
        model.A.copy_(torch.tensor([[0.0, 0.5, 0.0], [0.5, 0.0, 0.0], [0.0, 0.0, 0.0]]))   # a 2-cycle: h > 0
    lam, rho = float(model.dag_lambda), float(model.dag_rho)

    def step(k):
        return model.phases()[0].loss(Batch(x, k, torch.Generator().manual_seed(0), factors))[1]

    h = float(step(0)["h_A"])
    assert h > 1e-3 and float(model.dag_window[2]) == 1                 # the window accumulates
    step(1)
    assert (float(model.dag_lambda), float(model.dag_rho)) == (lam, rho)    # no outer step inside a window
    step(2)                                  # the first window closes: its loss has no predecessor, still solving
    assert (float(model.dag_lambda), float(model.dag_rho)) == (lam, rho)
    step(3)
    step(4)                                  # solved, h > dag_tol, nothing accepted yet: λ <- λ + ρ h
    assert float(model.dag_lambda) == pytest.approx(lam + rho * h, rel=1e-5) and float(model.dag_rho) == rho
    step(5)
    step(6)                                  # h did not fall by a quarter: ρ x 10, λ kept
    assert float(model.dag_rho) == pytest.approx(10 * rho) and float(model.dag_lambda) == pytest.approx(lam + rho * h, rel=1e-5)
    fixed = _model("causal_vae.dag=fixed", "causal_vae.dag_every=1")
    fixed.phases()[0].loss(Batch(x, 1, None, factors))
    assert (float(fixed.dag_lambda), float(fixed.dag_rho)) == (3.0, 1.0)
    with pytest.raises(ValueError, match="supervised by concept labels"):
        model.phases()[0].loss(Batch(x, 0))


def _outer_loop(hs, losses, window=100, **tol):
    """Run lagrangian_update over per-step h and loss sequences in windows, as CausalVAE does -> (λ, ρ, steps)."""
    lam, rho, h_last, loss_last, moves = 3.0, 1.0, float("inf"), float("inf"), []
    for start in range(0, len(hs), window):
        h, loss = float(np.mean(hs[start:start + window])), float(np.mean(losses[start:start + window]))
        lam, rho, h_last, what = lagrangian_update(h, loss, loss_last, h_last, lam, rho, rho_max=1e4,
                                                   **{"h_tol": 1e-3, "loss_tol": 0.01, **tol})
        loss_last = loss
        moves.append(what)
    return lam, rho, moves


def test_the_lagrangian_does_not_escalate_on_a_stationary_noisy_h():
    rng = np.random.default_rng(0)
    steps = 10_000
    losses = 1000 + 20 * rng.standard_normal(steps)                      # a settled loss, 2 % noise per step
    noisy_h = np.abs(2e-4 + 3e-4 * rng.standard_normal(steps))           # SGD-level h: a DAG up to noise
    lam, rho, moves = _outer_loop(noisy_h, losses)
    assert (lam, rho) == (3.0, 1.0) and set(moves) == {"solving", "met"}
    # the same noise judged step by step, as before the windows: it "never falls by a quarter" and ρ runs away
    lam, rho, _ = _outer_loop(noisy_h, losses, window=1, h_tol=0.0, loss_tol=float("inf"))
    assert rho == 1e4
    # a real cycle (h ~ 0.05) that does not shrink escalates ρ to its cap; a falling loss (still solving) waits
    lam, rho, moves = _outer_loop(np.full(steps, 0.05), losses)
    assert rho == 1e4 and lam > 3.0
    falling = 1000 * np.exp(-np.arange(steps) / 1000)                    # -10 % a window: the subproblem is unsolved
    assert _outer_loop(np.full(steps, 0.05), falling)[:2] == (3.0, 1.0)


def test_a_run_from_before_the_windows_resumes():
    model = _model()
    state = {k: v for k, v in model.state_dict().items() if k not in ("dag_loss_last", "dag_window")}
    fresh = _model()
    fresh.load_state_dict(state)                                        # strict: the missing buffers are filled
    assert float(fresh.dag_loss_last) == float("inf") and float(fresh.dag_window.sum()) == 0


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
    with pytest.raises(ValueError, match="has 2 concepts, the model 3"):
        check_adjacency(np.zeros((2, 2)), 3)
    with pytest.raises(ValueError, match="directed cycle: a causal graph must be acyclic"):
        check_adjacency(np.array([[0, 1, 0], [0, 0, 1], [1, 0, 0]]), 3)
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


def test_the_causal_layer_reads_a_as_parent_to_child():
    """z = Aᵀz + ε with A[j, i] the weight of j -> i: an edge 0 -> 1 of weight 2 makes z_1 = 2 z_0 + ε_1 and leaves
    z_0 alone; the transposed reading (z = Az + ε) would do the opposite, and this test fails then."""
    model = _model()                                                    # 3 concepts x 2 dims
    with torch.no_grad():
        model.A.zero_()
        model.A[0, 1] = 2.0
    eps = torch.tensor([[[1.0, -1.0], [0.5, 0.0], [0.0, 3.0]]])         # (1, C, k)
    z = model.causal(eps)
    torch.testing.assert_close(z[0, 0], eps[0, 0])                     # the root: z_0 = ε_0
    torch.testing.assert_close(z[0, 1], 2 * eps[0, 0] + eps[0, 1])     # the child: z_1 = 2 z_0 + ε_1 = (2.5, -2)
    torch.testing.assert_close(z[0, 2], eps[0, 2])                     # unrelated
    parents = torch.einsum("ji,bjk->bik", model.adjacency(), z)        # what the mask layer feeds g_i
    torch.testing.assert_close(parents[0, 1], 2 * z[0, 0]) and torch.testing.assert_close(parents[0, 0], torch.zeros(2))
    f = model.intervene(eps, 0, 5.0)                                   # do(z_0 = 5): the child moves, via A
    shifted = model.intervene(eps, 0, 6.0)
    assert not torch.allclose(f[0, 1], shifted[0, 1]) and torch.equal(f[0, 2], shifted[0, 2])
    f = model.intervene(eps, 1, 5.0)                                   # do(z_1 = 5): the parent does not move
    torch.testing.assert_close(model.intervene(eps, 1, 6.0)[0, 0], f[0, 0])


def test_no_concept_causes_itself():
    """A's diagonal is masked: a self-loop would let the label reconstruction read a concept from itself."""
    model = _model()
    with torch.no_grad():
        model.A.copy_(torch.eye(3))
    assert torch.count_nonzero(model.adjacency()) == 0 and np.count_nonzero(model.graph()[0]) == 0
    eps = torch.randn(4, 3, 2, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(model.causal(eps), eps)                     # no edge: z = ε
