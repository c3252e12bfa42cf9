"""dSprites from a full-size file in the original npz format: read time, memory, sampling rate, compare time.

    OMP_NUM_THREADS=1 python benchmarks/dsprites_file.py [--dir /tmp/dsprites_bench] [--batches 200]

No copy of the original file can be downloaded here, so the script writes one in its exact layout — keys
``imgs`` (737280, 64, 64) uint8, ``latents_classes`` and ``latents_values`` (737280, 6), ``metadata``,
zip-deflated as ``np.savez_compressed`` writes them — from the generated dSprites, streamed member by
member so the 3 GB of images never sit in memory.  Then it measures: the time and resident memory to
read it (``DSpritesFile``), batches of 64 per second from the file and from the generator, and the time
of ``disentangle datasets --compare`` (its numbers are trivially perfect here: the file is our render).
"""
from __future__ import annotations

import argparse
import time
import zipfile
from pathlib import Path

import numpy as np
from loaders import rss_mb   # this folder: (resident, anonymous, peak) MB

from disentanglement.data import DSprites, DSpritesFile
from disentanglement.data.dsprites_file import compare


def write_original_layout(path: Path, chunk: int = 16384) -> None:
    data = DSprites()
    n = len(data)
    classes = np.concatenate([np.zeros((n, 1), np.int64), data.index_to_factors(np.arange(n))], axis=1)
    values = np.concatenate([np.ones((n, 1))] + [data.factor_values[k][classes[:, k + 1]][:, None] for k in range(5)], axis=1)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("imgs.npy", "w", force_zip64=True) as fh:
            np.lib.format.write_array_header_1_0(fh, {"descr": "|u1", "fortran_order": False, "shape": (n, 64, 64)})
            for start in range(0, n, chunk):
                index = np.arange(start, min(start + chunk, n))
                fh.write(data.images(data.index_to_factors(index))[:, 0].astype(np.uint8).tobytes())
        for key, array in (("latents_classes", classes), ("latents_values", values),
                           ("metadata", np.array({"latents_sizes": np.array([1, 3, 6, 40, 32, 32])}, dtype=object))):
            with archive.open(f"{key}.npy", "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, array, allow_pickle=True)


def rate(dataset, batches: int) -> float:
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for _ in range(batches):
        dataset.sample(64, rng)
    return batches / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/dsprites_bench"))
    parser.add_argument("--batches", type=int, default=200)
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    path = args.dir / "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
    if not path.exists():
        start = time.perf_counter()
        write_original_layout(path)
        print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MB) in {time.perf_counter() - start:.0f} s")
    before = rss_mb()[0]
    start = time.perf_counter()
    file = DSpritesFile(path)
    read_s = time.perf_counter() - start
    print(f"read: {read_s:.1f} s, resident memory +{rss_mb()[0] - before:.0f} MB (bit-packed images)")
    generated = DSprites()
    print(f"batches of 64 per second: file {rate(file, args.batches):.0f}, generated {rate(generated, args.batches):.0f}")
    start = time.perf_counter()
    report = compare(file, generated)
    print(f"compare: {time.perf_counter() - start:.0f} s for {report['combinations']:,} combinations "
          f"(pixel agreement {report['pixel_agreement']:.4f}: the file is our render)")


if __name__ == "__main__":
    main()
