"""A folder of images as a dataset (data/images.py): with and without attributes, CelebA's layout, damaged files."""
import csv
import json

import numpy as np
import pytest
from PIL import Image

from disentanglement import metrics as M
from disentanglement.cli import main
from disentanglement.config import make_config
from disentanglement.data import DSprites, FactorDataset, ImageFolder, open_dataset
from disentanglement.errors import UserError
from disentanglement.evaluate import fitting_metrics

# a corner of dSprites, written to PNG with its factors: shape 3, scale 2, posX 4, posY 3 (orientation 0)
VALUES = ((0, 1, 2), (0, 5), (0, 10, 20, 31), (0, 15, 31))


class DSpritesCorner(FactorDataset):
    """The same corner of the built-in dSprites, as a FactorDataset."""
    name = "dsprites_corner"
    factor_names = ("shape", "scale", "posX", "posY")
    factor_sizes = tuple(len(v) for v in VALUES)
    observation_shape = (1, 64, 64)

    def _render(self, factors):
        v = [np.asarray(VALUES[k])[factors[:, k]] for k in range(4)]
        full = np.stack([v[0], v[1], np.zeros_like(v[0]), v[2], v[3]], 1)    # (n, 5): orientation 0
        return DSprites().images(full)


def _write_corner(folder):
    corner = DSpritesCorner()
    factors = corner.index_to_factors(np.arange(len(corner)))
    images = corner.images(factors)
    assert set(np.unique(images)) <= {0.0, 1.0}                   # exact in 8 bits
    (folder / "sprites").mkdir(parents=True)
    with open(folder / "attributes.csv", "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["file", *corner.factor_names])
        for i in np.random.default_rng(0).permutation(len(factors)):       # rows in any order
            name = f"sprites/{i:03d}.png"
            Image.fromarray((images[i, 0] * 255).astype(np.uint8)).save(folder / name)
            out.writerow([name, *(VALUES[k][c] for k, c in enumerate(factors[i]))])
    return corner


def _random_images(folder, n, size=(30, 40), mode="RGB", seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        shape = size[::-1] + ((3,) if mode == "RGB" else ())
        Image.fromarray((rng.random(shape) * 255).astype(np.uint8), mode).save(
            folder / (f"{i:03d}.jpg" if i % 2 else f"{i:03d}.png"))


def test_a_dataset_rendered_to_png_scores_as_the_built_in_one(tmp_path):
    corner = _write_corner(tmp_path)
    folder = open_dataset("images", str(tmp_path))
    assert folder.factor_names == corner.factor_names and folder.factor_sizes == corner.factor_sizes
    assert folder.complete and not folder.stochastic and folder.has_factors and folder.observation_shape == (1, 64, 64)
    every = corner.index_to_factors(np.arange(len(corner)))
    np.testing.assert_array_equal(folder.images(every), corner.images(every))
    for make in (np.random.RandomState, np.random.default_rng):        # the reference's draws, column by column
        np.testing.assert_array_equal(folder.sample_factors(50, make(3)), corner.sample_factors(50, make(3)))

    w = np.random.default_rng(1).normal(size=(64 * 64, 6))
    def encode(x):          # the same row-wise "model" on both
        return np.tanh(x.reshape(len(x), -1) @ w / 30.0)
    chosen = ["beta_vae", "factor_vae", "mig", "sap", "dci", "irs", "modularity_explicitness"]
    ours = M.evaluate(folder, encode, metrics=chosen, num_train=400, num_test=200, progress=False)
    built_in = M.evaluate(corner, encode, metrics=chosen, num_train=400, num_test=200, progress=False)
    assert ours == built_in and len(ours) > 10


def test_a_folder_without_attributes_is_the_images_alone(tmp_path):
    _random_images(tmp_path / "a" / "b", 6)
    _random_images(tmp_path / "c", 5, size=(50, 20), seed=1)
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "c" / "broken.png").write_bytes(b"not a png")
    data = open_dataset("images", str(tmp_path), image_size=32)
    assert data.num_images == 11 and not data.has_factors and data.factor_names == ("image",)
    assert data.observation_shape == (3, 32, 32) and len(data.notes) == 1 and "1 of 12 files" in data.notes[0]
    images, factors = data.sample(7, np.random.default_rng(0))
    assert images.shape == (7, 3, 32, 32) and images.dtype == np.float32 and 0 <= images.min() <= images.max() <= 1
    assert "11 images (3x32x32)" in data.describe() and "no factors" in data.describe()
    names, skipped = fitting_metrics(data, ["mig", "unsupervised", "beta_vae"], "images")
    assert names == ["unsupervised"] and set(skipped) == {"mig", "beta_vae"} and "needs factors" in skipped["mig"]


def test_grey_folders_stay_grey_and_the_centre_square_is_kept(tmp_path):
    wide = np.zeros((20, 60), np.uint8)
    wide[:, 20:40] = 255                                        # the centre square white, the sides black
    Image.fromarray(wide, "L").save(tmp_path / "wide.png")
    Image.fromarray(wide.T.copy(), "L").save(tmp_path / "tall.png")
    data = ImageFolder(str(tmp_path), image_size=20)
    assert data.observation_shape == (1, 20, 20)
    np.testing.assert_array_equal(data.images(np.array([[0], [1]])), np.ones((2, 1, 20, 20), np.float32))


def test_a_truncated_file_is_replaced_and_said_never_a_crash(tmp_path, capsys):
    _random_images(tmp_path, 4, size=(64, 64))
    whole = (tmp_path / "001.jpg").read_bytes()
    (tmp_path / "001.jpg").write_bytes(whole[:len(whole) // 3])          # opens, cannot be decoded
    data = ImageFolder(str(tmp_path))
    assert data.num_images == 4                                          # the header still reads
    images = data.images(np.array([[1], [2]]))
    np.testing.assert_array_equal(images[0], images[1])                  # the next image stood in for it
    assert "001.jpg cannot be decoded" in capsys.readouterr().err


def _celeba(folder, rows):
    (folder / "img_align_celeba").mkdir(parents=True)
    rng = np.random.default_rng(0)
    lines = [str(len(rows)), "Smiling Male Young"]
    for i, row in enumerate(rows):
        name = f"{i + 1:06d}.jpg"
        Image.fromarray((rng.random((218, 178, 3)) * 255).astype(np.uint8)).save(folder / "img_align_celeba" / name)
        lines.append(f"{name} " + " ".join(f"{v:2d}" for v in row))
    (folder / "list_attr_celeba.txt").write_text("\n".join(lines) + "\n")


def test_celeba_layout_in_miniature(tmp_path):
    rows = [(1, -1, 1), (1, -1, 1), (-1, -1, 1), (1, 1, -1), (-1, 1, -1), (1, 1, 1), (1, -1, 1), (-1, -1, -1)]
    _celeba(tmp_path, rows)
    data = open_dataset("images", str(tmp_path))
    assert data.factor_names == ("Smiling", "Male", "Young") and data.factor_sizes == (2, 2, 2)
    assert data.observation_shape == (3, 64, 64) and data.num_images == 8
    assert not data.complete and data.stochastic and data.present == 6     # (-1, 1, 1) and (1, -1, -1) have no image
    classes = (np.asarray(rows) > 0).astype(np.int64)
    drawn = data.sample_factors(400, np.random.default_rng(0))            # the rows of uniformly drawn images
    assert {tuple(r) for r in drawn} == {tuple(r) for r in classes}
    share = (drawn == classes[0]).all(1).mean()                            # (1, -1, 1): 3 of the 8 images
    assert abs(share - 3 / 8) < 0.08
    seen = {tuple(data.images(classes[:1], np.random.default_rng(s))[0, :, 0, :4].ravel()) for s in range(30)}
    assert len(seen) == 3                                                  # one of the combination's three images
    with pytest.raises(ValueError, match="no image .* has the factors"):
        data.images(np.array([[0, 1, 1]]), np.random.default_rng(0))       # (-1, 1, 1): nobody
    names, skipped = fitting_metrics(data, ["mig", "beta_vae", "factor_vae", "dci"], "images")
    assert names == ["mig", "dci"] and "6 of its 8 combinations" in skipped["beta_vae"]
    scores = M.evaluate(data, lambda x: x.reshape(len(x), -1)[:, :5], metrics=["mig"], num_train=64, num_test=16,
                        progress=False)
    assert 0 <= scores["mig"] <= 1


def test_a_run_on_a_folder_trains_evaluates_and_reports(tmp_path, capsys):
    _random_images(tmp_path / "data", 12, size=(24, 24))
    run = tmp_path / "run"
    argv = ["train", "--model", "beta_vae", "--dataset", "images", "--dataset-path", str(tmp_path / "data"),
            "--steps", "3", "--out", str(run), "--no-progress", "--set", "image_size=16", "--set", "batch_size=4"]
    assert main(argv) == 0
    assert main(["evaluate", str(run), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "12 images (3x16x16)" in out and "skipped beta_vae, factor_vae, mig" in out
    record = json.loads((run / "metrics.json").read_text())
    assert "gaussian_total_correlation" in record["metrics"] and "mig" in record["skipped"]
    assert "Skipped: the score compares" in (run / "report.html").read_text()


@pytest.mark.parametrize("setup, argv_extra, message", [
    ("empty", [], "no PNG or JPEG file"),
    ("unmatched", [], "none of its 2 names matches an image"),
    ("not_integer", [], "'yes' is not an integer"),
    ("short_row", [], "2 cells, the header has 3"),
    ("plain", ["--model", "ada_gvae"], "trains on pairs that differ in k factors"),
    ("plain", ["--set", "correlations=a:b=0.1"], "correlations and holdout reshape a grid"),
])
def test_bad_folders_fail_in_one_line(tmp_path, capsys, setup, argv_extra, message):
    data = tmp_path / "data"
    data.mkdir()
    if setup != "empty":
        _random_images(data, 3, size=(16, 16))
    table = {"unmatched": "file,a\nx.png,1\ny.png,0\n", "not_integer": "file,a,b\n000.png,1,yes\n",
             "short_row": "file,a,b\n000.png,1\n"}.get(setup)
    if table:
        (data / "attributes.csv").write_text(table)
    argv = ["train", "--dataset", "images", "--dataset-path", str(data), "--steps", "1",
            "--out", str(tmp_path / "run"), "--no-progress", *argv_extra]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "run").exists()                                       # nothing written


def test_image_size_is_for_folders_only():
    with pytest.raises(UserError, match="image_size applies to --dataset images"):
        make_config({"dataset": "dsprites"}, ["image_size=128"])
