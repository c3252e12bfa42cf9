"""Every metric in one table: what it needs, whether the study's suite runs it, what it draws.

``evaluate`` (below and in evaluate.py), the image planner, ``disentangle score``, the metric-name parser,
the command line's help and the common metric test (tests/test_metric_registry.py) all read ``REGISTRY``;
a new metric is its file and one line here.

What a metric needs (``Metric.needs``):

- ``codes``: the study's train codes (N, D) and factors (N, K) — ``compute(codes, factors)``;
- ``split``: also the test codes — ``compute(codes, factors, codes_test, factors_test)``;
- ``sampler``: its own draws from the dataset — ``compute(dataset, encode, random_state, num_test, **sizes)``
  (``sizes``: the metric's own keywords, e.g. ``num_train``, for small tests);
- ``concepts``: a dataset's concept labels, and ``model``: the trained model itself — both computed from a run
  by evaluate.py (``compute`` None here: the metrics layer does not know runs).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from .beta_vae import beta_vae_score
from .beta_vae import num_images as beta_vae_images
from .dci import dci
from .dci_es import dci_es
from .downstream import PREDICTORS, downstream_task
from .factor_vae import factor_vae_score
from .factor_vae import num_images as factor_vae_images
from .fairness import fairness
from .infomec import infomec
from .irs import irs
from .mig import mig
from .modularity_explicitness import modularity_explicitness
from .sap import sap
from .unsupervised import unsupervised

NEEDS = ("codes", "split", "sampler", "concepts", "model")
DOWNSTREAM_SIZES = (10, 100, 1000, 10000)     # the study's training sizes of the downstream task


@dataclass(frozen=True)
class Metric:
    name: str
    needs: str                                   # one of NEEDS
    compute: Optional[Callable] = None           # see the module's docstring; None for concepts / model
    about: str = ""                              # one line: the paper, and what it reads
    default: bool = False                        # in the default suite (the study's, plus concepts where labelled)
    images: Callable[[Optional[list], int, int], int] = lambda sizes, num_train, num_test: 0
    # ^ images it renders itself, given the dataset's factor sizes and the suite's train / test sizes
    one_factor_at_a_time: bool = False           # fixes one factor and redraws the rest: needs the whole grid
    grid: bool = False                           # renders factor combinations it chooses: needs the whole grid
    uses_factors: bool = True                    # False: reads the codes alone (runs on a folder without factors)
    # for the common test (codes, split and sampler metrics): keys that perfect codes score >= 0.9 (``high``) and
    # noise scores near chance (``low``: <= 0.2, or chance + 0.2 for a classifier of the fixed factor), and the
    # changes of the codes under which every key stays within ``tolerance`` (permuting dimensions, rescaling each
    # by a positive factor).  Modularity is not in ``low``: noise codes score ~0.6 (each latent's information,
    # all of it spurious, spread evenly — a known weakness of the measure).
    high: tuple[str, ...] = ()
    low: tuple[str, ...] = ()
    invariant: tuple[str, ...] = ()
    tolerance: float = 1e-9

    @property
    def needs_grid(self) -> bool:
        """Renders combinations of its own choosing: every combination of the factors must have an image."""
        return self.grid or self.one_factor_at_a_time

    def __post_init__(self):
        if self.needs not in NEEDS:
            raise ValueError(f"metric {self.name}: needs must be one of {NEEDS}, got {self.needs!r}")
        if (self.compute is None) != (self.needs in ("concepts", "model")):
            raise ValueError(f"metric {self.name}: a {self.needs} metric "
                             f"{'has no' if self.needs in ('concepts', 'model') else 'needs a'} compute here")


def _fairness_images(sizes, num_train: int = 10000, per_class: int = 100) -> int:
    """Images fairness renders: num_train, then per (target, sensitive) pair per_class per sensitive value."""
    if sizes is None:
        return num_train
    return num_train + per_class * sum(sizes[j] for i in range(len(sizes)) for j in range(len(sizes)) if i != j)


def _downstream(dataset, encode, random_state: int, num_test: int, **kw) -> dict:
    out: dict = {}
    for predictor in PREDICTORS:
        out.update(downstream_task(dataset, encode, random_state=random_state, predictor=predictor,
                                   **{"num_train": DOWNSTREAM_SIZES, "num_test": num_test, **kw}))
    return out


REGISTRY: dict[str, Metric] = {m.name: m for m in (
    Metric("beta_vae", "sampler", lambda d, e, rs, nt, **kw: beta_vae_score(d, e, random_state=rs, **kw), default=True,
           about="Higgins et al. 2017: a linear classifier names the fixed factor from |z1 - z2| of pairs",
           images=lambda s, tr, te: beta_vae_images(), one_factor_at_a_time=True, high=("beta_vae.eval_accuracy",), low=("beta_vae.eval_accuracy",),
           invariant=("permutation",), tolerance=2e-2),
    Metric("factor_vae", "sampler", lambda d, e, rs, nt, **kw: factor_vae_score(d, e, random_state=rs, **kw), default=True,
           about="Kim & Mnih 2018: a majority vote names the fixed factor from the least-varying latent",
           images=lambda s, tr, te: factor_vae_images(), one_factor_at_a_time=True,
           high=("factor_vae.eval_accuracy",), low=("factor_vae.eval_accuracy",), invariant=("permutation", "scale"),
           tolerance=2e-2),
    Metric("mig", "codes", mig, default=True, about="Chen et al. 2018: the gap between the two latents most "
           "informative of each factor (histogram estimate)", high=("mig",), low=("mig",), invariant=("permutation", "scale")),
    Metric("sap", "split", sap, default=True, about="Kumar et al. 2018: the gap between the two latents that "
           "predict each factor best", low=("sap",), invariant=("permutation",)),
    Metric("dci", "split", dci, default=True, about="Eastwood & Williams 2018: disentanglement, completeness and "
           "informativeness of boosted-tree importances", high=("dci.disentanglement", "dci.completeness"),
           low=("dci.disentanglement", "dci.completeness"),
           invariant=("permutation", "scale"), tolerance=2e-3),
    Metric("modularity_explicitness", "split", modularity_explicitness, default=True,
           about="Ridgeway & Mozer 2018: each latent informative of one factor; factors read by logistic regression",
           high=("modularity", "explicitness_test"), invariant=("permutation",), tolerance=1e-6),
    Metric("irs", "codes", irs, default=True, about="Suter et al. 2019: robustness of each latent to the other "
           "factors' interventions", invariant=("permutation",)),
    Metric("unsupervised", "codes", lambda z, f: unsupervised(z), default=True,
           about="Locatello et al. 2019: total correlation and Wasserstein dependence of the codes alone",
           invariant=("permutation",), tolerance=1e-6, uses_factors=False),
    Metric("fairness", "sampler", lambda d, e, rs, nt, **kw: fairness(d, e, random_state=rs, **kw),
           about="Locatello et al. 2019b: how a factor's prediction changes with another factor held fixed",
           images=lambda s, tr, te: _fairness_images(s), one_factor_at_a_time=True),
    Metric("downstream", "sampler", _downstream, about="Locatello et al. 2019: factors predicted from 10 .. 10,000 "
           "codes by logistic regression and boosted trees",
           images=lambda s, tr, te: 2 * (sum(DOWNSTREAM_SIZES) + len(DOWNSTREAM_SIZES) * te)),
    Metric("infomec", "codes", infomec, about="Hsu et al. 2023: InfoM, InfoE, InfoC from normalised mutual "
           "information", high=("infomec.infom",), invariant=("permutation",), tolerance=1e-6),
    # (not "scale": as the authors, latents whose range is under 1/20 of the widest are pruned, and rescaling one
    # dimension by 20x can cross that line)
    # DCI-ES's forests along its capacity curve draw features by column: permuting moves its explicitness by
    # up to ~0.04 (an estimator's difference; tests/test_metrics_ii.py bounds it on its own codes)
    Metric("dci_es", "split", dci_es, about="Eastwood et al. 2023: DCI with explicitness and size"),
    Metric("mic", "concepts", about="Yang et al. 2021 (CausalVAE): MIC / TIC between each concept's latent block and "
           "the concept", default=True),
    Metric("interchange", "model", about="Geiger et al. 2021-style interchange intervention accuracy, read by the "
           "report's factor predictor", grid=True),
    Metric("intervention", "model", about="do(concept) read back by a concept readout against the true graph "
           "(models with do())"),
    Metric("mig_sampled", "model", about="Chen et al. 2018's MIG from the Gaussian posterior over the whole "
           "factor grid", grid=True),
)}


def names(*needs: str, default: Optional[bool] = None) -> tuple[str, ...]:
    """The registered names (in the table's order) with one of ``needs`` (all if none given), and, where
    ``default`` is given, in (True) or out of (False) the default suite."""
    return tuple(n for n, m in REGISTRY.items()
                 if (not needs or m.needs in needs) and (default is None or m.default == default))


def help_line(*needs: str) -> str:
    """The metric names of ``needs`` for a command's help, default ones first."""
    chosen = names(*needs)
    return ", ".join(sorted(chosen, key=lambda n: not REGISTRY[n].default))
