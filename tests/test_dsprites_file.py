"""dSprites read from a file in the original npz format (a miniature grid written here), compared with the
generated dSprites, trained on, resumed after the file moved; bad files are one-line errors."""
import zipfile
from pathlib import Path

import numpy as np
import pytest

from disentanglement.cli import main
from disentanglement.config import make_config
from disentanglement.data import DSprites, DSpritesFile, open_dataset
from disentanglement.data.dsprites import ORIENTATIONS, POSITIONS, SCALES
from disentanglement.data.dsprites_file import compare
from disentanglement.errors import UserError
from disentanglement.runs import Run, load_trained
from disentanglement.train import train

# a sub-grid of dSprites' classes: (shape, scale, orientation, posX, posY)
PICK = (np.arange(3), np.array([0, 5]), np.array([0, 10]), np.array([0, 10, 20, 31]), np.array([3, 17, 30]))
GRID = (np.arange(3.0) + 1, SCALES, ORIENTATIONS, POSITIONS, POSITIONS)


def write_npz(path: Path, flip: int | None = None, **replace) -> np.ndarray:
    """An npz with the original's keys, dtypes and row-major layout over PICK; returns the factor classes used."""
    classes = np.stack(np.meshgrid(*PICK, indexing="ij"), axis=-1).reshape(-1, 5)          # (N, 5) dSprites classes
    imgs = DSprites().images(classes)[:, 0].astype(np.uint8)                                # (N, 64, 64) in {0, 1}
    if flip is not None:
        imgs[flip] = 1 - imgs[flip]
    n = len(classes)
    local = np.stack(np.meshgrid(*[np.arange(len(p)) for p in PICK], indexing="ij"), axis=-1).reshape(-1, 5)
    latents_classes = np.concatenate([np.zeros((n, 1), np.int64), local], axis=1)          # colour first, size 1
    values = np.stack([GRID[k][classes[:, k]] for k in range(5)], axis=1)
    latents_values = np.concatenate([np.ones((n, 1)), values], axis=1)
    arrays = {"imgs": imgs, "latents_classes": latents_classes, "latents_values": latents_values,
              "metadata": np.array({"latents_sizes": np.array([1, *map(len, PICK)])}, dtype=object)}
    arrays.update(replace)
    np.savez_compressed(path, **{k: v for k, v in arrays.items() if v is not None})
    return classes


def test_file_reads_as_dsprites_with_its_grid(tmp_path):
    classes = write_npz(tmp_path / "d.npz")
    data = open_dataset("dsprites", str(tmp_path / "d.npz"))
    assert isinstance(data, DSpritesFile) and data.name == "dsprites"
    assert data.factor_names == DSprites.factor_names and data.factor_sizes == (3, 2, 2, 4, 3)
    np.testing.assert_allclose(data.factor_values[1], SCALES[[0, 5]])
    index = np.array([0, 5, 17, len(data) - 1])
    factors = data.index_to_factors(index)
    np.testing.assert_array_equal(data.factors_to_index(factors), index)
    images = data.images(factors)
    assert images.shape == (4, 1, 64, 64) and images.dtype == np.float32 and set(np.unique(images)) <= {0.0, 1.0}
    np.testing.assert_array_equal(images, DSprites().images(classes[index]))              # the row of its factors


def test_compare_finds_the_one_image_that_differs(tmp_path):
    write_npz(tmp_path / "same.npz")
    same = compare(DSpritesFile(tmp_path / "same.npz"), DSprites())
    assert same["pixel_agreement"] == 1.0 and same["sprite_iou"] == 1.0 and same["centroid_offset_px"] == [0.0, 0.0]
    assert same["pixel_mean_file"] == same["pixel_mean_generated"]
    write_npz(tmp_path / "flip.npz", flip=7)
    report = compare(DSpritesFile(tmp_path / "flip.npz"), DSprites())
    assert report["sprite_iou"] < 1.0 and report["worst"]["iou"] < 0.1
    assert report["share_iou_at_least_0.8"] == pytest.approx(1 - 1 / report["combinations"])


def test_cli_compare_prints_the_report(tmp_path, capsys):
    write_npz(tmp_path / "d.npz")
    assert main(["datasets", "--compare", str(tmp_path / "d.npz"), "--no-progress"]) == 0
    assert '"pixel_agreement": 1.0' in capsys.readouterr().out
    assert main(["datasets"]) == 0
    listing = capsys.readouterr().out
    assert "scream_dsprites" in listing and "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz" in listing


def test_train_from_the_file_and_resume_after_it_moved(tmp_path, one_thread):
    write_npz(tmp_path / "d.npz")
    config = make_config({"model": "beta_vae", "dataset": "dsprites", "dataset_path": str(tmp_path / "d.npz"),
                          "steps": 2, "batch_size": 4, "checkpoint_every": 1}, ["vae.latent_dim=3"])
    assert train(config, tmp_path / "run", progress=False, tensorboard=False).step == 2
    (tmp_path / "d.npz").rename(tmp_path / "moved.npz")
    assert main(["train", "--resume", str(tmp_path / "run"), "--steps", "3", "--dataset-path",
                 str(tmp_path / "moved.npz"), "--no-progress", "--no-report"]) == 0
    assert Run(tmp_path / "run").read_config().dataset_path == str((tmp_path / "moved.npz").resolve())
    _, data, _, step = load_trained(tmp_path / "run")
    assert step == 3 and isinstance(data, DSpritesFile)


def test_bad_files_are_one_line_errors(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        make_config({"dataset": "dsprites", "dataset_path": str(tmp_path / "none.npz")})
    write_npz(tmp_path / "nokey.npz", imgs=None)
    with pytest.raises(UserError, match="has no imgs"):
        DSpritesFile(tmp_path / "nokey.npz")
    write_npz(tmp_path / "shape.npz", imgs=np.zeros((5, 64, 64), np.uint8))
    with pytest.raises(UserError, match=r"imgs is uint8\[5, 64, 64\]; expected uint8 \(144, 64, 64\)"):
        DSpritesFile(tmp_path / "shape.npz")
    write_npz(tmp_path / "order.npz", latents_classes=np.zeros((144, 6), np.int64))
    with pytest.raises(UserError, match="not the row-major grid"):
        DSpritesFile(tmp_path / "order.npz")
    write_npz(tmp_path / "whole.npz")
    raw = (tmp_path / "whole.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(UserError, match="truncated"):
        DSpritesFile(tmp_path / "cut.npz")
    with zipfile.ZipFile(tmp_path / "whole.npz") as archive:      # a damaged member: decompression fails
        members = {name: archive.read(name) for name in archive.namelist()}
    with zipfile.ZipFile(tmp_path / "bad.npz", "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data[:100] if name == "imgs.npy" else data)
    with pytest.raises(UserError, match="truncated"):
        DSpritesFile(tmp_path / "bad.npz")
    assert main(["train", "--dataset-path", str(tmp_path / "bad.npz"), "--out", str(tmp_path / "run")]) == 2
    assert not (tmp_path / "run").exists()                         # nothing written for a bad file
    assert main(["train", "--dataset", "noisy_dsprites", "--dataset-path", str(tmp_path / "whole.npz"),
                 "--no-progress"]) == 2
