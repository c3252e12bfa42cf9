"""Loaders of the user's dataset files (3D Shapes, MPI3D, SmallNORB, Cars3D), each tested on a miniature file
the test writes in the real format.  Every written image encodes its own factors in flat bands (or pixels),
so a test can tell the right row was read, after resizing too.

Files that cannot be small in the real format are sparse: 3dshapes.h5 has the real 480,000-row datasets with
one chunk per image, and only the sampled rows are written (unwritten chunks take no disk and read as 0);
the SmallNORB ``-dat.mat`` files have their real size via ``truncate`` (a hole on disk) with only the sampled
stereo pairs written.  MPI3D and Cars3D files are small by construction (a few factor values or cars).
"""
import os
import pickle
import shutil

import numpy as np
import pytest
import scipy.io
from PIL import Image

from disentanglement.config import make_config
from disentanglement.data import DATASETS, open_dataset
from disentanglement.data import shapes3d as shapes3d_module
from disentanglement.data.cars3d import Cars3D
from disentanglement.data.mpi3d import MPI3D, sizes_for
from disentanglement.data.shapes3d import Shapes3D
from disentanglement.data.smallnorb import CHUNKS, SmallNORB
from disentanglement.errors import UserError
from disentanglement.train import train

h5py = pytest.importorskip("h5py")

SHAPES_SIZES = (10, 10, 10, 8, 4, 15)
NORB_SIZES = (5, 10, 9, 18, 6)               # category, instance, elevation, azimuth / 2, lighting


def one_line(err) -> str:
    message = str(err.value)
    assert "\n" not in message
    return message


# ---- 3D Shapes ------------------------------------------------------------------------------------------
def shapes_labels() -> np.ndarray:
    """(480000, 6) float64: the published label values, row-major."""
    classes = np.stack(np.unravel_index(np.arange(480000), SHAPES_SIZES), 1)
    grids = [np.arange(10) / 10] * 3 + [np.linspace(0.75, 1.25, 8), np.arange(4.0), np.linspace(-30, 30, 15)]
    return np.stack([g[classes[:, k]] for k, g in enumerate(grids)], 1)


def shapes_image(row: int) -> np.ndarray:
    """(64, 64, 3) uint8 encoding its row: pixels [0, 0..5, 0] = factor classes, [1, 0..2, 0] = row bytes."""
    image = np.zeros((64, 64, 3), np.uint8)
    image[0, :6, 0] = np.unravel_index(row, SHAPES_SIZES)
    image[1, :3, 0] = [row >> 16, (row >> 8) & 255, row & 255]
    image[63, 63, 2] = 255
    return image


@pytest.fixture(scope="module")
def shapes_file(tmp_path_factory):
    """A full-layout 3dshapes.h5 with 200 rows written; returns (path, written rows)."""
    path = tmp_path_factory.mktemp("shapes") / "3dshapes.h5"
    rows = np.sort(np.random.default_rng(0).choice(480000, 200, replace=False))
    with h5py.File(path, "w") as f:
        images = f.create_dataset("images", (480000, 64, 64, 3), np.uint8, chunks=(1, 64, 64, 3), compression="gzip")
        f.create_dataset("labels", data=shapes_labels(), chunks=(4800, 6), compression="gzip")
        for row in rows:
            images[row] = shapes_image(int(row))
    return path, rows


def decode_shapes(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    raw = np.rint(images * 255).astype(np.int64)                    # (n, 3, 64, 64)
    factors = raw[:, 0, 0, :6]
    rows = (raw[:, 0, 1, 0] << 16) + (raw[:, 0, 1, 1] << 8) + raw[:, 0, 1, 2]
    return factors, rows


def test_shapes3d_reads_the_rows_of_the_asked_factors(shapes_file):
    path, rows = shapes_file
    ds = open_dataset("shapes3d", str(path))
    assert ds.factor_sizes == SHAPES_SIZES and ds.observation_shape == (3, 64, 64) and len(ds) == 480000
    wanted = np.concatenate([rows[::-1], rows[:5]])                  # unsorted, with repeats
    factors = np.stack(np.unravel_index(wanted, SHAPES_SIZES), 1)
    images = ds.images(factors)
    assert images.shape == (len(wanted), 3, 64, 64) and images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() == 1.0
    got_factors, got_rows = decode_shapes(images)
    np.testing.assert_array_equal(got_rows, wanted)
    np.testing.assert_array_equal(got_factors, factors)
    assert os.stat(path).st_blocks * 512 < 30e6                      # sparse: the 5.9 GB layout takes little disk


def test_shapes3d_is_read_lazily_and_survives_pickling(shapes_file):
    path, rows = shapes_file
    ds = Shapes3D.open(str(path))
    assert isinstance(ds._h5()["images"], h5py.Dataset)              # nothing loaded: rows are read per batch
    copy = pickle.loads(pickle.dumps(ds))
    factors = np.stack(np.unravel_index(rows[:7], SHAPES_SIZES), 1)
    np.testing.assert_array_equal(copy.images(factors), ds.images(factors))
    images, drawn = ds.sample(16, np.random.RandomState(3))
    assert images.shape == (16, 3, 64, 64) and drawn.shape == (16, 6)
    np.testing.assert_allclose(ds.values_of(factors), shapes_labels()[rows[:7]])


def test_shapes3d_bad_input(shapes_file, tmp_path, monkeypatch):
    with pytest.raises(UserError) as err:
        Shapes3D.open(None)
    assert "3dshapes.h5" in one_line(err) and "--dataset-path" in one_line(err)
    with pytest.raises(UserError) as err:
        Shapes3D.open(str(tmp_path / "3dshapes.h5"))
    assert "no file" in one_line(err) and "http" in one_line(err)
    with h5py.File(tmp_path / "keys.h5", "w") as f:
        f.create_dataset("imgs", (4, 64, 64, 3), np.uint8)
    with pytest.raises(UserError) as err:
        Shapes3D.open(str(tmp_path / "keys.h5"))
    assert "no dataset 'images'" in one_line(err) and "imgs" in one_line(err)
    with h5py.File(tmp_path / "shape.h5", "w") as f:
        f.create_dataset("images", (4, 64, 64, 3), np.uint8)
        f.create_dataset("labels", (4, 6), np.float64)
    with pytest.raises(UserError) as err:
        Shapes3D.open(str(tmp_path / "shape.h5"))
    assert "(4, 64, 64, 3)" in one_line(err) and "expected (480000, 64, 64, 3)" in one_line(err)
    with h5py.File(tmp_path / "order.h5", "w") as f:                # right shapes, labels never written (zeros)
        f.create_dataset("images", (480000, 64, 64, 3), np.uint8, chunks=(1, 64, 64, 3))
        f.create_dataset("labels", (480000, 6), np.float64, chunks=(4800, 6))
    with pytest.raises(UserError) as err:
        Shapes3D.open(str(tmp_path / "order.h5"))
    assert "labels of row 0" in one_line(err)
    data = shapes_file[0].read_bytes()
    (tmp_path / "cut.h5").write_bytes(data[:len(data) // 2])
    with pytest.raises(UserError) as err:
        Shapes3D.open(str(tmp_path / "cut.h5"))
    assert "not a readable HDF5 file" in one_line(err) and "truncated" in one_line(err)
    monkeypatch.setattr(shapes3d_module, "h5py", None)
    with pytest.raises(UserError) as err:
        Shapes3D.open(str(shapes_file[0]))
    assert "h5py" in one_line(err) and "pip install" in one_line(err)


# ---- MPI3D ----------------------------------------------------------------------------------------------
MPI_SIZES = (2, 2, 2, 1, 1, 3, 3)                                    # 72 images


def mpi_images() -> np.ndarray:
    """(72, 64, 64, 3) uint8: pixel [0, 0..6, 0] = factor classes, [0, 0, 1] = row, a 255 at [5, 5, 2]."""
    images = np.zeros((72, 64, 64, 3), np.uint8)
    images[:, 0, :7, 0] = np.stack(np.unravel_index(np.arange(72), MPI_SIZES), 1)
    images[:, 0, 0, 1] = np.arange(72)
    images[:, 5, 5, 2] = 255
    return images


@pytest.fixture(scope="module")
def mpi_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("mpi3d") / "mpi3d_toy.npz"
    np.savez(path, images=mpi_images())
    return path


def test_mpi3d_sizes_follow_from_the_number_of_images():
    assert sizes_for(1036800) == (6, 6, 2, 3, 3, 40, 40)
    assert sizes_for(460800) == (4, 4, 2, 3, 3, 40, 40)
    assert np.prod(sizes_for(1036800)) == 1036800 and np.prod(sizes_for(460800)) == 460800
    with pytest.raises(ValueError, match="1,036,800"):
        sizes_for(72)


def test_mpi3d_maps_the_file_and_reads_the_asked_rows(mpi_file):
    ds = MPI3D(str(mpi_file), factor_sizes=MPI_SIZES)
    assert isinstance(ds._images, np.memmap)                         # stored uncompressed: mapped, not loaded
    assert ds.factor_sizes == MPI_SIZES and ds.observation_shape == (3, 64, 64) and len(ds) == 72
    factors = ds.sample_factors(40, np.random.RandomState(1))
    images = ds.images(factors)
    assert images.shape == (40, 3, 64, 64) and images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() == 1.0
    raw = np.rint(images * 255).astype(np.int64)
    np.testing.assert_array_equal(raw[:, 0, 0, :7], factors)
    np.testing.assert_array_equal(raw[:, 1, 0, 0], ds.factors_to_index(factors))
    copy = pickle.loads(pickle.dumps(ds))
    assert isinstance(copy._images, np.memmap)
    np.testing.assert_array_equal(copy.images(factors), images)


def test_mpi3d_compressed_file_is_loaded(tmp_path, mpi_file):
    np.savez_compressed(tmp_path / "c.npz", images=mpi_images())
    ds = MPI3D(str(tmp_path / "c.npz"), factor_sizes=MPI_SIZES)
    factors = ds.index_to_factors(np.arange(72))
    np.testing.assert_array_equal(ds.images(factors), MPI3D(str(mpi_file), factor_sizes=MPI_SIZES).images(factors))


def test_mpi3d_bad_input(tmp_path, mpi_file):
    with pytest.raises(UserError) as err:
        MPI3D.open(None)
    assert "mpi3d" in one_line(err) and "--dataset-path" in one_line(err)
    with pytest.raises(UserError) as err:
        MPI3D.open(str(tmp_path / "mpi3d_toy.npz"))
    assert "no file" in one_line(err)
    with pytest.raises(UserError) as err:
        MPI3D.open(str(mpi_file))                                      # 72 images: no published size
    assert "72 images" in one_line(err) and "1,036,800" in one_line(err) and "460,800" in one_line(err)
    with pytest.raises(UserError) as err:
        MPI3D(str(mpi_file), factor_sizes=(2, 2, 2, 1, 1, 3, 4))
    assert "product" in one_line(err)
    np.savez(tmp_path / "keys.npz", imgs=mpi_images())
    with pytest.raises(UserError) as err:
        MPI3D.open(str(tmp_path / "keys.npz"))
    assert "no array 'images'" in one_line(err) and "imgs" in one_line(err)
    np.savez(tmp_path / "shape.npz", images=np.zeros((72, 64, 64), np.uint8))
    with pytest.raises(UserError) as err:
        MPI3D.open(str(tmp_path / "shape.npz"))
    assert "(72, 64, 64)" in one_line(err) and "expected (N, 64, 64, 3)" in one_line(err)
    data = mpi_file.read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[:len(data) // 2])
    with pytest.raises(UserError) as err:
        MPI3D.open(str(tmp_path / "cut.npz"))
    assert "truncated" in one_line(err)


# ---- SmallNORB ------------------------------------------------------------------------------------------
NORB_SEED, NORB_DRAWS = 7, 64


def reference_norb_draws(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """disentanglement_lib's draws: latent (category, elevation, azimuth, lighting), then the instance."""
    rs = np.random.RandomState(seed)
    latent = np.stack([rs.randint(size, size=n) for size in (5, 9, 18, 6)], 1)   # sample_latent_factors
    instance = rs.randint(10, size=n)                                             # sample_all_factors
    return latent, instance


def norb_pair(features) -> np.ndarray:
    """(2, 96, 96) uint8: image 0 has five 16-row bands of 14 * (category, instance, elevation, azimuth/2,
    lighting) and a 255 block; image 1 is its negative (so reading the wrong image is seen)."""
    first = np.zeros((96, 96), np.uint8)
    for k, value in enumerate(features):
        first[16 * k:16 * k + 16] = 14 * value
    first[80:, 40:] = 255
    return np.stack([first, 255 - first])


def decode_norb(images: np.ndarray) -> np.ndarray:
    """(n, 1, 64, 64) -> (n, 5) features: the band centres survive the resize."""
    centres = [int((16 * k + 8) * 64 / 96) for k in range(5)]
    return np.rint(images[:, 0, centres, 20] * 255 / 14).astype(np.int64)


def write_matrix(path, magic: int, shape, data: np.ndarray = None) -> None:
    """A NORB binary matrix; without ``data`` only its header, the file extended to full size (sparse)."""
    head = np.array([magic, len(shape), *shape, *[1] * (3 - len(shape))], "<i4")
    with open(path, "wb") as f:
        f.write(head.tobytes())
        if data is not None:
            f.write(np.ascontiguousarray(data).tobytes())
        else:
            f.truncate(len(head) * 4 + int(np.prod(shape)))


def norb_features(instances, rng) -> np.ndarray:
    """(24300, 5) every (category, instance, elevation, azimuth/2, lighting) of these instances, shuffled."""
    grid = np.stack(np.unravel_index(np.arange(24300), (5, 5, 9, 18, 6)), 1)
    grid[:, 1] = np.asarray(instances)[grid[:, 1]]
    return grid[rng.permutation(24300)]


@pytest.fixture(scope="module")
def norb_folder(tmp_path_factory):
    """The six files, full size; only the pairs the seeded draws will ask for are written."""
    folder = tmp_path_factory.mktemp("norb")
    latent, instance = reference_norb_draws(NORB_SEED, NORB_DRAWS)
    wanted = {tuple(f) for f in np.insert(latent, 1, instance, axis=1).tolist()}
    rng = np.random.default_rng(0)
    for chunk, instances in zip(CHUNKS, ([4, 6, 7, 8, 9], [0, 1, 2, 3, 5])):
        features = norb_features(instances, rng)
        write_matrix(folder / f"{chunk}-cat.mat", 0x1E3D4C54, (24300,), features[:, 0].astype("<i4"))
        info = features[:, 1:] * [1, 1, 2, 1]                                 # azimuth stored as 0, 2, ..., 34
        write_matrix(folder / f"{chunk}-info.mat", 0x1E3D4C54, (24300, 4), info.astype("<i4"))
        write_matrix(folder / f"{chunk}-dat.mat", 0x1E3D4C55, (24300, 2, 96, 96))
        with open(folder / f"{chunk}-dat.mat", "r+b") as f:
            for row in np.flatnonzero([tuple(x) in wanted for x in features.tolist()]):
                f.seek(24 + int(row) * 2 * 96 * 96)
                f.write(norb_pair(features[row]).tobytes())
    return folder


@pytest.fixture(scope="module")
def norb(norb_folder):
    return open_dataset("smallnorb", str(norb_folder))


def test_smallnorb_draws_as_the_reference(norb):
    assert norb.factor_sizes == (5, 9, 18, 6) and norb.observation_shape == (1, 64, 64) and norb.stochastic
    rs = np.random.RandomState(NORB_SEED)
    factors = norb.sample_factors(NORB_DRAWS, rs)
    images = norb.images(factors, rs)
    latent, instance = reference_norb_draws(NORB_SEED, NORB_DRAWS)
    np.testing.assert_array_equal(factors, latent)
    np.testing.assert_array_equal(decode_norb(images), np.insert(latent, 1, instance, axis=1))
    reference = np.random.RandomState(NORB_SEED)
    for size in (5, 9, 18, 6, 10):                                            # the same numbers consumed
        reference.randint(size, size=NORB_DRAWS)
    assert rs.randint(1 << 30) == reference.randint(1 << 30)


def test_smallnorb_uses_the_first_image_resized_as_the_reference(norb):
    rs = np.random.RandomState(NORB_SEED)                                    # the draws whose pairs were written
    images = norb.images(norb.sample_factors(NORB_DRAWS, rs), rs)
    assert images.shape == (NORB_DRAWS, 1, 64, 64) and images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() == 1.0
    for image, feature in zip(images[:8], decode_norb(images[:8])):
        stored = norb_pair(feature)[0]                                        # image 0 of the stereo pair
        expected = np.asarray(Image.fromarray(stored).resize((64, 64), Image.LANCZOS)) / 255.0
        np.testing.assert_array_equal(image[0], expected.astype(np.float32))
    with pytest.raises(ValueError, match="stochastic"):
        norb.images(images[:2, 0, 0, :4].astype(np.int64))


def test_smallnorb_bad_input(tmp_path, norb_folder):
    with pytest.raises(UserError) as err:
        SmallNORB.open(None)
    assert "smallnorb" in one_line(err) and "--dataset-path" in one_line(err)
    with pytest.raises(UserError) as err:
        SmallNORB.open(str(tmp_path))
    assert "no file" in one_line(err) and "training-dat.mat" in one_line(err)
    dat = tmp_path / f"{CHUNKS[0]}-dat.mat"
    write_matrix(dat, 0x1E3D4C55, (24300, 2, 96, 96), np.zeros(1000, np.uint8))
    with pytest.raises(UserError) as err:
        SmallNORB.open(str(tmp_path))
    assert "truncated" in one_line(err) and "(24300, 2, 96, 96)" in one_line(err)
    write_matrix(dat, 0x1E3D4C55, (10, 2, 96, 96), np.zeros(10 * 2 * 96 * 96, np.uint8))
    with pytest.raises(UserError) as err:
        SmallNORB.open(str(tmp_path))
    assert "(10, 2, 96, 96)" in one_line(err) and "expected (24300, 2, 96, 96)" in one_line(err)
    for junk in (b"\x00" * 64, b"\x55\x4c\x3d"):                                # bad magic; a cut header
        dat.write_bytes(junk)
        with pytest.raises(UserError) as err:
            SmallNORB.open(str(tmp_path))
        assert "not a NORB binary matrix" in one_line(err)
    holes = tmp_path / "holes"                                                # one combination twice, one missing
    holes.mkdir()
    for name in os.listdir(norb_folder):
        if name.endswith("-dat.mat"):
            os.symlink(norb_folder / name, holes / name)                     # sparse: link, never copy
        else:
            shutil.copy(norb_folder / name, holes / name)
    info = holes / f"{CHUNKS[1]}-info.mat"
    data = bytearray(info.read_bytes())
    data[20:36] = data[36:52]                                 # row 0 := row 1 (data after a 20-byte header)
    info.write_bytes(bytes(data))
    with pytest.raises(UserError) as err:
        SmallNORB.open(str(holes))
    assert "do not cover" in one_line(err) and "1 missing, 1 repeated" in one_line(err)


# ---- Cars3D ---------------------------------------------------------------------------------------------
def car_mesh(car: int) -> np.ndarray:
    """(128, 128, 3, 24, 4) uint8: image (azimuth a, elevation e) has bands 10 * e, 10 * a, 40 * car + 20."""
    mesh = np.zeros((128, 128, 3, 24, 4), np.uint8)
    for a in range(24):
        for e in range(4):
            mesh[:32, :, :, a, e] = 10 * e
            mesh[32:64, :, :, a, e] = 10 * a
            mesh[64:96, :, :, a, e] = 40 * car + 20
            mesh[96:, 64:, 1, a, e] = 255
    return mesh


@pytest.fixture(scope="module")
def cars_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cars")
    for car in (2, 0, 1):                                                     # written out of order
        scipy.io.savemat(folder / f"car_{car:03d}_mesh.mat", {"im": car_mesh(car)}, do_compression=True)
    (folder / "notes.txt").write_text("not a car")
    return folder


def test_cars3d_reads_every_car_in_name_order(cars_folder):
    ds = open_dataset("cars3d", str(cars_folder))
    assert ds.factor_sizes == (4, 24, 3) and ds.observation_shape == (3, 64, 64)
    assert DATASETS["cars3d"].factor_sizes == (4, 24, 183)                   # the published set, for listings
    factors = ds.index_to_factors(np.arange(len(ds)))
    images = ds.images(factors)
    assert images.shape == (288, 3, 64, 64) and images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() == 1.0
    bands = np.rint(images[:, 0, [8, 24, 40], 10] * 255).astype(np.int64)   # (n, 3) band centres
    np.testing.assert_array_equal(bands, np.stack([10 * factors[:, 0], 10 * factors[:, 1], 40 * factors[:, 2] + 20], 1))
    for f in factors[[0, 100, 287]]:                                          # thumbnail with Lanczos, / 255
        picture = Image.fromarray(np.ascontiguousarray(car_mesh(f[2])[:, :, :, f[1], f[0]]))
        picture.thumbnail((64, 64), Image.LANCZOS)
        expected = (np.asarray(picture) / 255.0).astype(np.float32).transpose(2, 0, 1)
        np.testing.assert_array_equal(ds.images(f[None])[0], expected)


def test_cars3d_bad_input(tmp_path, cars_folder):
    with pytest.raises(UserError) as err:
        Cars3D.open(None)
    assert "car_*_mesh.mat" in one_line(err) and "--dataset-path" in one_line(err)
    with pytest.raises(UserError) as err:
        Cars3D.open(str(tmp_path / "missing"))
    assert "not a folder" in one_line(err)
    with pytest.raises(UserError) as err:
        Cars3D.open(str(tmp_path))
    assert "no car_*_mesh.mat file" in one_line(err)
    scipy.io.savemat(tmp_path / "car_000_mesh.mat", {"img": np.zeros((2, 2), np.uint8)})
    with pytest.raises(UserError) as err:
        Cars3D.open(str(tmp_path))
    assert "no key 'im'" in one_line(err)
    scipy.io.savemat(tmp_path / "car_000_mesh.mat", {"im": np.zeros((64, 64, 3, 24, 4), np.uint8)})
    with pytest.raises(UserError) as err:
        Cars3D.open(str(tmp_path))
    assert "(64, 64, 3, 24, 4)" in one_line(err) and "expected 'im' (128, 128, 3, 24, 4)" in one_line(err)
    data = (cars_folder / "car_000_mesh.mat").read_bytes()
    (tmp_path / "car_000_mesh.mat").write_bytes(data[:len(data) // 2])
    with pytest.raises(UserError) as err:
        Cars3D.open(str(tmp_path))
    assert "truncated" in one_line(err) and "car_000_mesh.mat" in one_line(err)


# ---- training from a file -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["shapes3d", "mpi3d", "smallnorb", "cars3d"])
def test_training_two_steps_from_a_user_file(name, request, tmp_path, monkeypatch, one_thread):
    path = {"shapes3d": lambda: request.getfixturevalue("shapes_file")[0], "mpi3d": lambda: request.getfixturevalue("mpi_file"),
            "smallnorb": lambda: request.getfixturevalue("norb_folder"),
            "cars3d": lambda: request.getfixturevalue("cars_folder")}[name]()
    if name == "mpi3d":   # the miniature file has 72 images: its sizes can't be inferred, so the test gives them
        monkeypatch.setattr(MPI3D, "open", classmethod(lambda cls, p=None: cls(p, factor_sizes=MPI_SIZES)))
    config = make_config({"model": "beta_vae", "dataset": name, "dataset_path": str(path), "steps": 2,
                          "batch_size": 8, "checkpoint_every": 1}, ["vae.latent_dim=3"])
    result = train(config, tmp_path / "run", progress=False, tensorboard=False)
    assert result.step == 2 and all(np.isfinite(v) for v in result.logs.values())
    assert (tmp_path / "run" / "checkpoint.pt").exists()
