"""metrics/_gbt.py pinned to scikit-learn's GradientBoostingClassifier() (defaults) on tie-free data.

With one feature nothing can tie between features, so sklearn's random feature order has nothing to
break: predictions must be identical and trees the same.  With several features, depth-3 trees on
small nodes often find the same partition through two features; sklearn's own output then moves with
``random_state`` (it does on every multi-feature set tried), so importances are held to sklearn's
spread over seeds.
"""
import numpy as np
import pytest
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.tree import DecisionTreeRegressor

from disentanglement.metrics import _gbt, _gbt_kernels

def _data(n_classes, n, d, n_test=300, seed=1):
    """x (n, d) continuous (no repeated values), y (n,) balanced labels from a noisy score; test x."""
    rs = np.random.RandomState(seed)
    x = rs.randn(n + n_test, d)
    score = x[:, 0] + (0.5 * np.sin(2 * x[:, 1]) if d > 1 else 0) + 0.5 * rs.randn(n + n_test)
    y = np.digitize(score, np.quantile(score, np.linspace(0, 1, n_classes + 1)[1:-1]))
    return x[:n], y[:n], x[n:]


@pytest.mark.parametrize("n_classes,n", [(2, 1000), (3, 1000), (40, 2000)])
def test_gbt_equals_sklearn_without_ties(n_classes, n):
    x, y, xt = _data(n_classes, n, d=1)
    assert len(np.unique(y)) == n_classes
    ref = GradientBoostingClassifier(random_state=0).fit(x, y)
    imp, (pred, pred_test) = _gbt.fit_predict(x, y, [xt])
    np.testing.assert_array_equal(pred, ref.predict(x))
    np.testing.assert_array_equal(pred_test, ref.predict(xt))
    np.testing.assert_allclose(imp, ref.feature_importances_, rtol=0, atol=1e-12)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_gbt_importances_within_sklearns_spread(n_classes):
    x, y, xt = _data(n_classes, 2000, d=3)
    refs = [GradientBoostingClassifier(random_state=s).fit(x, y) for s in range(3)]
    imps = np.stack([r.feature_importances_ for r in refs])  # (seeds, D)
    imp, (_, pred_test) = _gbt.fit_predict(x, y, [xt])
    assert np.all(imp >= imps.min(axis=0) - 1e-3) and np.all(imp <= imps.max(axis=0) + 1e-3), (imp, imps)
    assert np.mean(pred_test == refs[0].predict(xt)) >= 0.99


def test_gbt_keeps_the_label_values():
    x, y, xt = _data(3, 600, d=2)
    values = np.array([7, -2, 40])
    _, (pred, _) = _gbt.fit_predict(x, values[y], [xt])
    _, (pred0, _) = _gbt.fit_predict(x, y, [xt])
    np.testing.assert_array_equal(pred, values[pred0])


def _sklearn_levels(tree):
    """Thresholds of a depth-3 sklearn tree level by level, as _gbt._grow gives them (inf: no split)."""
    t, nodes, levels = tree.tree_, [0], []
    for _ in range(3):
        split = [nd != -1 and t.children_left[nd] != -1 for nd in nodes]
        levels.append(np.array([t.threshold[nd] if s else np.inf for nd, s in zip(nodes, split)]))
        nodes = [c for nd, s in zip(nodes, split) for c in ((t.children_left[nd], t.children_right[nd]) if s
                                                             else (-1, -1))]
    return levels


@pytest.mark.parametrize("seed,splits_a_constant_node", [(0, True), (3, True), (8, False)])
def test_tree_equals_sklearn_on_piecewise_constant_residuals(seed, splits_a_constant_node):
    """Residuals constant on blocks of x: sklearn splits some nodes whose residuals are all equal (the impurity
    its parent's criterion gave the node is rounding, above EPSILON) at a position rounding picks, and keeps
    others as leaves (seed 8: 24 equal residuals, impurity -4e-17); _grow must do the same."""
    rs = np.random.RandomState(seed)
    x = rs.randn(300, 1)
    r = (rs.randn(4) * 0.3)[np.digitize(x[:, 0], [-1, 0, 1])]
    r = np.where(rs.rand(300) < 0.05, rs.randn(300) * 0.3, r)
    ref = DecisionTreeRegressor(max_depth=3).fit(x, r, sample_weight=np.ones(300))
    _, thrs, leaf, _ = _gbt._grow(_gbt._Data(x), r, (0, 0, 0))
    for ours, theirs in zip(thrs, _sklearn_levels(ref)):
        np.testing.assert_array_equal(ours, theirs)
    paths = ref.decision_path(x.astype(np.float32)).toarray().astype(bool)  # (N, nodes)
    inner = np.flatnonzero(ref.tree_.children_left != -1)
    assert any(np.ptp(r[paths[:, nd]]) == 0 for nd in inner) == splits_a_constant_node


def _grown(data, r, key):
    """grow_common's outputs on residuals r, and whether it grew the tree."""
    n_features, n_samples = data.order.shape
    feats, thrs = np.zeros((3, 4), np.int64), np.full((3, 4), np.inf)
    leaf, imp = np.empty(n_samples, np.int64), np.empty(n_features)
    ok = _gbt_kernels.grow_common(r, np.array(key, np.int64), data.order, data.levels, data.xt, data.dense_ties,
                                  data.any_ties, _gbt._TIE, _gbt._NEAR_PURE, data.proxy, data.shift, data.weight,
                                  feats, thrs, leaf, imp)
    return ok, feats, thrs, leaf, imp


@pytest.mark.parametrize("case", ["continuous", "duplicated feature", "grid values"])
def test_compiled_tree_equals_python_tree(case):
    """The compiled tree (grow_common) is _grow's, bit for bit: splits, thresholds, leaves, importances —
    also where two features tie for every split (a copied feature: the pick by the key's hash) and where a
    feature has many equal values (dense ties: those positions are no thresholds)."""
    rs = np.random.RandomState(5)
    x = rs.randn(3000, 3)
    if case == "duplicated feature":
        x[:, 2] = x[:, 0]
    if case == "grid values":
        x[:, 1] = np.round(x[:, 1] * 4) / 4
    data = _gbt._Data(x)
    assert data.dense_ties[1] == (case == "grid values")
    picks = set()
    for tree in range(6):
        r = np.tanh(x[:, 0] + np.sin(3 * x[:, 1]) + rs.randn(3000))
        ok, feats, thrs, leaf, imp = _grown(data, r, (0, tree, 1))
        assert ok
        f_ref, t_ref, leaf_ref, imp_ref = _gbt._grow(data, r, (0, tree, 1))
        for level in range(3):
            np.testing.assert_array_equal(feats[level, :2 ** level], f_ref[level])
            np.testing.assert_array_equal(thrs[level, :2 ** level], t_ref[level])
        np.testing.assert_array_equal(leaf, leaf_ref)
        np.testing.assert_array_equal(imp, imp_ref)
        picks |= set(feats[np.isfinite(thrs)].tolist())
    if case == "duplicated feature":
        assert {0, 2} <= picks  # the tie went both ways over the trees' keys


def test_compiled_tree_leaves_rounding_to_python():
    """Where residuals are equal on whole nodes, sklearn's rounding decides: grow_common declines and the tree
    comes from _grow (the case test_tree_equals_sklearn_on_piecewise_constant_residuals pins to sklearn)."""
    rs = np.random.RandomState(0)
    x = rs.randn(300, 1)
    r = (rs.randn(4) * 0.3)[np.digitize(x[:, 0], [-1, 0, 1])]
    data = _gbt._Data(x)
    assert not _grown(data, r, (0, 0, 0))[0]
    feats, thrs = np.zeros((3, 4), np.int64), np.full((3, 4), np.inf)
    leaf, imp = np.empty(300, np.int64), np.empty(1)
    assert not _gbt._tree(data, r, (0, 0, 0), feats, thrs, leaf, imp)
    np.testing.assert_array_equal(leaf, _gbt._grow(data, r, (0, 0, 0))[2])


def test_tuple_hash_is_pythons():
    rs = np.random.RandomState(0)
    for t in [(0,) * 6, (2 ** 61 - 2,) * 6] + [tuple(int(v) for v in rs.randint(0, 10 ** 6, 6)) for _ in range(500)]:
        assert _gbt_kernels.tuple_hash(*t) == hash(t)
