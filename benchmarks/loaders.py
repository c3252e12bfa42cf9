"""Loaders of the user's files: images per second (batch 64, random factors), directly and through the
prefetching ``BatchStream``, on synthetic files in the real layout written to a temporary folder.

    OMP_NUM_THREADS=1 python benchmarks/loaders.py [--seconds 3] [--shapes-rows 480000] [--mpi-axis 10]

Each dataset is measured in a fresh process, so its resident memory is its own: VmRSS after sampling, the
anonymous part of it (RssAnon: not pages of a mapped file, which the system can drop), and the peak
(VmHWM, mapped file pages included).
Files: 3dshapes.h5 in the full layout (480,000 rows written, gzip, one chunk per image, flat-coloured
scenes that compress like the real ones); the six SmallNORB files at full size; 183 Cars3D meshes
(uncompressed .mat); an MPI3D npz stored uncompressed (memory-mapped), sizes [6, 6, 2, 3, 3, A, A] with
A = ``--mpi-axis`` (10: 64,800 images, 0.8 GB; the real A = 40 writes 12.7 GB, and the rate of page-cached
random reads hardly depends on it).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

SIZES = {"shapes3d": (10, 10, 10, 8, 4, 15)}


def rss_mb() -> tuple[float, float, float]:
    """(resident now, of which anonymous (not file pages), peak resident) in MB, from /proc/self/status.

    The peak is VmHWM, this process image's own; ``getrusage``'s ru_maxrss would carry over the peak of the
    parent that wrote the files (Linux keeps it across fork and exec)."""
    with open("/proc/self/status") as f:
        status = {line.split(":")[0]: int(line.split()[1]) for line in f
                  if line.startswith(("VmRSS", "RssAnon", "VmHWM"))}
    return status["VmRSS"] / 1024, status["RssAnon"] / 1024, status["VmHWM"] / 1024


# ---- synthetic files in the real layouts ----------------------------------------------------------------
def hue_rgb(hue: np.ndarray) -> np.ndarray:
    """(n,) hues in [0, 1) -> (n, 3) uint8 fully saturated colours."""
    k = (np.asarray(hue)[:, None] * 6 + np.array([5, 3, 1])) % 6
    return (255 * (1 - np.clip(np.minimum(k, 4 - k), 0, 1))).astype(np.uint8)


def write_shapes3d(folder: str, rows: int) -> str:
    import h5py
    path = os.path.join(folder, "3dshapes.h5")
    block = 4800
    with h5py.File(path, "w") as f:
        images = f.create_dataset("images", (480000, 64, 64, 3), np.uint8, chunks=(1, 64, 64, 3), compression="gzip")
        classes = np.stack(np.unravel_index(np.arange(480000), SIZES["shapes3d"]), 1)       # (480000, 6)
        grids = [np.arange(10) / 10] * 3 + [np.linspace(0.75, 1.25, 8), np.arange(4.0), np.linspace(-30, 30, 15)]
        f.create_dataset("labels", data=np.stack([g[classes[:, k]] for k, g in enumerate(grids)], 1),
                         chunks=(block, 6), compression="gzip")
        for start in range(0, rows, block):
            c = classes[start:start + block]
            scene = np.empty((len(c), 64, 64, 3), np.uint8)
            scene[:, :40] = hue_rgb(c[:, 1] / 10)[:, None, None]                   # wall
            scene[:, 40:] = hue_rgb(c[:, 0] / 10)[:, None, None]                   # floor
            for s in np.unique(c[:, 3]):                                           # object, sized by scale
                half = 6 + int(s)
                pick = c[:, 3] == s
                scene[pick, 40 - half:40 + half, 32 - half:32 + half] = hue_rgb(c[pick, 2] / 10)[:, None, None]
            images[start:start + len(c)] = scene
    return path


def mpi3d_sizes(axis: int) -> tuple[int, ...]:
    return (6, 6, 2, 3, 3, axis, axis)


def write_mpi3d(folder: str, axis: int) -> str:
    path = os.path.join(folder, "mpi3d_toy.npz")
    rng = np.random.default_rng(0)
    np.savez(path, images=rng.integers(0, 256, (int(np.prod(mpi3d_sizes(axis))), 64, 64, 3), dtype=np.uint8))
    return path


def write_smallnorb(folder: str) -> str:
    from disentanglement.data.smallnorb import CHUNKS
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (64, 96, 96), dtype=np.uint8)                       # 64 textures, reused
    for chunk, instances in zip(CHUNKS, ([4, 6, 7, 8, 9], [0, 1, 2, 3, 5])):
        grid = np.stack(np.unravel_index(np.arange(24300), (5, 5, 9, 18, 6)), 1)
        grid[:, 1] = np.asarray(instances)[grid[:, 1]]
        grid[:, 3] *= 2
        for part, magic, data in (("cat", 0x1E3D4C54, grid[:, 0]), ("info", 0x1E3D4C54, grid[:, 1:]),
                                  ("dat", 0x1E3D4C55, None)):
            shape = (24300, 2, 96, 96) if data is None else data.shape
            with open(os.path.join(folder, f"{chunk}-{part}.mat"), "wb") as f:
                f.write(np.array([magic, len(shape), *shape, *[1] * (3 - len(shape))], "<i4").tobytes())
                if data is not None:
                    f.write(data.astype("<i4").tobytes())
                    continue
                for start in range(0, 24300, 900):                                # (900, 2, 96, 96) per write
                    f.write(np.repeat(base[(np.arange(start, start + 900) % 64)][:, None], 2, 1).tobytes())
    return folder


def write_cars3d(folder: str, cars: int = 183) -> str:
    import scipy.io
    path = os.path.join(folder, "cars")
    os.makedirs(path)
    mesh = np.random.default_rng(0).integers(0, 256, (128, 128, 3, 24, 4), dtype=np.uint8)
    for car in range(cars):
        scipy.io.savemat(os.path.join(path, f"car_{car:03d}_mesh.mat"), {"im": np.roll(mesh, car, axis=0)})
    return path


# ---- measurement (in a child process) -------------------------------------------------------------------
def measure(name: str, path: str, seconds: float, batch: int, mpi_axis: int) -> dict:
    from disentanglement.data import MPI3D, BatchStream, open_dataset
    start = time.perf_counter()
    dataset = MPI3D(path, factor_sizes=mpi3d_sizes(mpi_axis)) if name == "mpi3d" else open_dataset(name, path)
    opened = time.perf_counter() - start
    rng = np.random.default_rng(0)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        dataset.images(dataset.sample_factors(batch, rng), rng)                     # (64, C, 64, 64)
        count += batch
    direct = count / (time.perf_counter() - start)
    count, start = 0, time.perf_counter()
    with BatchStream(dataset, batch, np.random.default_rng(1)) as stream:
        for drawn in stream:
            count += len(drawn.images)
            if time.perf_counter() - start > seconds:
                break
    streamed = count / (time.perf_counter() - start)
    now, anon, peak = rss_mb()
    return {"name": name, "open_s": opened, "direct": direct, "stream": streamed, "rss_mb": now, "anon_mb": anon,
            "peak_mb": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--shapes-rows", type=int, default=480000, help="rows of 3dshapes.h5 written (all by default)")
    parser.add_argument("--mpi-axis", type=int, default=10, help="values per MPI3D axis factor (the real: 40)")
    parser.add_argument("--child", nargs=2, metavar=("NAME", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(*args.child, args.seconds, args.batch, args.mpi_axis)))
        return
    folder = tempfile.mkdtemp(prefix="loaders-bench-")
    try:
        files = {}
        for name, write in (("shapes3d", lambda: write_shapes3d(folder, args.shapes_rows)),
                            ("mpi3d", lambda: write_mpi3d(folder, args.mpi_axis)),
                            ("smallnorb", lambda: write_smallnorb(folder)), ("cars3d", lambda: write_cars3d(folder))):
            start = time.perf_counter()
            files[name] = write()
            print(f"wrote {name} in {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
        rows = []
        for name, path in files.items():
            out = subprocess.run([sys.executable, __file__, "--child", name, path, "--seconds", str(args.seconds),
                                  "--batch", str(args.batch), "--mpi-axis", str(args.mpi_axis)],
                                 check=True, capture_output=True, text=True)
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f"batch {args.batch}, {args.seconds:g} s each, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")
        head = ("dataset", "open s", "images/s", "stream/s", "RSS MB", "anon MB", "peak MB")
        print(f"{head[0]:<10} {head[1]:>7} {head[2]:>9} {head[3]:>9} {head[4]:>7} {head[5]:>8} {head[6]:>8}")
        for r in rows:
            print(f"{r['name']:<10} {r['open_s']:7.1f} {r['direct']:9,.0f} {r['stream']:9,.0f} {r['rss_mb']:7.0f} "
                  f"{r['anon_mb']:8.0f} {r['peak_mb']:8.0f}")
        shapes = next(r for r in rows if r["name"] == "shapes3d")
        print(f"shapes3d, full layout with {args.shapes_rows:,} rows written: peak RSS {shapes['peak_mb']:.0f} MB "
              f"({'under' if shapes['peak_mb'] < 500 else 'OVER'} the 500 MB budget: the file is read lazily)")
    finally:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
