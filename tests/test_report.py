"""report.html: self-contained, complete, and it loads in a real browser without errors."""
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import torch

from disentanglement import viz
from disentanglement.config import make_config
from disentanglement.data.toy import Squares
from disentanglement.errors import UserError
from disentanglement.report import write_report
from disentanglement.runs import Run
from disentanglement.train import train
from disentanglement.viz.factor_predictor import cache_dir

FIGURES = ("traversal.gif", "traversal_seed0.png", "reconstructions.png", "samples.png", "axes.png", "curves.png", "traversal_score.png")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    run = tmp_path_factory.mktemp("report") / "run"
    train(make_config({"dataset": "squares", "vae": {"latent_dim": 3}, "lr": 1e-3, "log_every": 10, "steps": 60}), run,
          progress=False)
    (run / "metrics.json").write_text(json.dumps({"metrics": {"mig": 0.1234, "dci.disentanglement": 0.5}}))
    path = write_report(run, progress=False, steps=5, score_seeds=8)
    yield path
    torch.set_num_threads(threads)


def test_report_is_self_contained_and_complete(report):
    page = report.read_text()
    run = report.parent
    assert all((run / "figures" / name).exists() for name in FIGURES)
    sources = re.findall(r'src="([^"]*)"', page)
    assert len(sources) == 9 and all(s.startswith("data:image/") for s in sources)   # gif, 3 grids, 5 plots
    assert "data:image/gif;base64," in page and "traversal score" in page.lower()
    assert "Interchange interventions" in page and all(f"<th>{n}</th>" in page for n in ("posX", "posY", "size"))
    assert "0.1234" in page and "dci.disentanglement" in page                         # the metric table
    assert "model: beta_vae" in page                                                  # the config
    record = json.loads((run / "figures" / "traversal_score.json").read_text())
    assert record["factor_names"] == ["posX", "posY", "size"] and len(record["effect"]) == 3
    assert sorted(record["axes"]) == ["z0", "z1", "z2"]
    assert "Reconstructions" in page and "Samples" in page and "Which axes are active" in page


def test_factor_predictor_is_trained_once_per_dataset(report, tmp_path, monkeypatch):
    cache = list(cache_dir().glob("factor_predictor_squares_*.pt"))
    assert len(cache) == 1 and not (report.parent / "factor_predictor.pt").exists()
    before = cache[0].stat().st_mtime_ns
    monkeypatch.setattr(viz.factor_predictor, "train_factor_predictor",
                        lambda *a, **k: pytest.fail("the cached predictor was trained again"))
    other = tmp_path / "other"                      # another run on the same dataset reuses it
    train(make_config({"dataset": "squares", "vae": {"latent_dim": 2}, "steps": 5}), other, progress=False)
    write_report(other, progress=False, steps=3, score_seeds=2)
    assert cache[0].stat().st_mtime_ns == before


def test_a_read_only_cache_still_reports(report, tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("")                          # a cache folder below a file cannot be made
    monkeypatch.setenv("DISENTANGLE_CACHE", str(blocked / "cache"))
    with pytest.warns(UserWarning, match="could not cache the factor predictor"):
        viz.load_or_train(Squares(), steps=5)


def test_bad_run_directories_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="not a run directory \\(no config.yaml\\)"):
        write_report(tmp_path, progress=False)
    Run(tmp_path / "fresh").create(make_config({"dataset": "squares"}))
    with pytest.raises(UserError, match="has no checkpoint.pt yet"):
        write_report(tmp_path / "fresh", progress=False)


PROBE = """<script>
window.__errors = [];
window.addEventListener('error', e => window.__errors.push('error: ' + (e.message || (e.target && e.target.outerHTML || '').slice(0, 80))), true);
const original = console.error;
console.error = (...a) => { window.__errors.push('console.error: ' + a.join(' ')); original(...a); };
window.addEventListener('load', () => {
  const images = [...document.images];
  const broken = images.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.alt);
  const pre = document.createElement('pre');
  pre.id = 'verdict';
  pre.textContent = JSON.stringify({images: images.length, broken, errors: window.__errors});
  document.body.appendChild(pre);
});
</script>"""


def chromium():
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


def browse(binary, url, *extra):
    with tempfile.TemporaryDirectory() as profile:
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={profile}", "--virtual-time-budget=10000"]
        return subprocess.run([binary, *flags, *extra, url], capture_output=True, text=True, timeout=120)


def test_report_opens_in_headless_chromium(report):
    # A report that no browser opened is not tested: no skip.  .ci/run installs Debian's chromium.
    assert chromium(), "Chromium not found: install it (Debian: apt-get install chromium) to open report.html"
    probe = report.with_name("report_probe.html")
    probe.write_text(report.read_text().replace("<head>", "<head>" + PROBE, 1))
    dom = browse(chromium(), probe.as_uri(), "--dump-dom")
    found = re.search(r'<pre id="verdict">(.*?)</pre>', dom.stdout, re.S)
    assert found, f"no verdict from Chromium: {dom.stderr[-500:]}"
    verdict = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert verdict == {"images": 9, "broken": [], "errors": []}
    shot = report.with_name("report.png")
    browse(chromium(), report.as_uri(), f"--screenshot={shot}", "--window-size=1200,2000", "--hide-scrollbars")
    assert shot.exists() and shot.stat().st_size > 10_000
