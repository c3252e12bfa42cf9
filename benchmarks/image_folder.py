"""How fast a folder of JPEGs feeds training: images/s of ``--dataset images`` through the prefetch stream.

Writes N CelebA-sized JPEGs (178 x 218, quality 90; smooth colour fields with texture, so they compress like
photographs) to a temporary folder, then measures, in one process:

- reading the folder (``ImageFolder(...)``: the recursive search and every file's header);
- batches of 64 drawn through ``BatchStream`` (one background thread, as in training) at image_size 64 and 128;
- the peer: the same files decoded at full scale by PIL, centre-cropped and resized the same way, in a loop —
  what a loader without libjpeg's reduced-scale decoding (``Image.draft``) does.

    OMP_NUM_THREADS=1 python benchmarks/image_folder.py --images 2000 --batches 60
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from disentanglement.data import BatchStream, ImageFolder


def write_jpegs(folder: Path, n: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:218, 0:178] / 218.0
    for i in range(n):
        a, b, c = rng.random(3) * 6
        base = np.stack([np.sin(a * xx + b * yy), np.cos(b * xx - c * yy), np.sin(c * (xx + yy))], -1)
        texture = rng.normal(0, 0.08, (218, 178, 3))
        pixels = np.clip((base * 0.4 + 0.5 + texture) * 255, 0, 255).astype(np.uint8)
        sub = folder / f"{i // 1000:03d}"
        sub.mkdir(exist_ok=True)
        Image.fromarray(pixels).save(sub / f"{i:06d}.jpg", quality=90)


def full_decode(path: Path, size: int) -> np.ndarray:
    with Image.open(path) as im:
        im = im.convert("RGB")
        w, h = im.size
        s = min(w, h)
        im = im.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s)).resize((size, size),
                                                                                              Image.BILINEAR)
        return np.asarray(im)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--batches", type=int, default=60)
    ap.add_argument("--batch", type=int, default=64)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        write_jpegs(folder, args.images)
        print(f"wrote {args.images} JPEGs 178x218 in {time.perf_counter() - t:.1f}s")
        for size in (64, 128):
            t = time.perf_counter()
            data = ImageFolder(str(folder), image_size=size)
            opened = time.perf_counter() - t
            with BatchStream(data, args.batch, np.random.default_rng(0), ahead=4) as stream:
                next(stream)                                   # the thread is up
                t = time.perf_counter()
                for _ in range(args.batches):
                    next(stream)
                ours = args.batches * args.batch / (time.perf_counter() - t)
            rng = np.random.default_rng(1)
            t = time.perf_counter()
            for _ in range(args.batches):
                data.images(data.sample_factors(args.batch, rng))
            direct = args.batches * args.batch / (time.perf_counter() - t)
            t = time.perf_counter()
            for _ in range(args.batches):
                for i in rng.integers(len(data.files), size=args.batch):
                    full_decode(data.files[i], size)
            peer = args.batches * args.batch / (time.perf_counter() - t)
            print(f"image_size {size}: folder read in {opened:.2f}s ({opened / args.images * 1e3:.3f} ms/file); "
                  f"stream {ours:,.0f} images/s, the same batches in the main thread {direct:,.0f}; full-scale PIL "
                  f"decode {peer:,.0f} images/s; stream / full-scale {ours / peer:.2f}")


if __name__ == "__main__":
    main()
