"""Golden images of the dSprites variants from the reference's own code, for tests/test_dsprites_variants.py.

    python tools/reference_variants.py [--dlib DIR] [--out tests/fixtures/dsprites_variants_reference.npz]

Runs disentanglement_lib 1.5's ``ColorDSprites``, ``NoisyDSprites`` and ``ScreamDSprites`` (their
``sample(num, RandomState(seed))``) in this process, over OUR generated dSprites images: the reference's
classes only index ``self.images`` by the flat factor index, so handing them our renderer isolates what is
tested — the variants' random draws and arithmetic.  TensorFlow and six are replaced by stubs (only
``gfile.Open``, to read the scream image, and ``six.moves.range`` are used).  ``--dlib``: an unpacked disentanglement_lib wheel; fetched with
``pip download disentanglement-lib==1.5 --no-deps`` when not given.  Writes the background image it used,
the factors and the images.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import types
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from disentanglement.data import DSprites

SEEDS, NUM = (0, 1), 6


def background() -> Image.Image:
    """A deterministic 400x300 RGB background (smooth colour ramps and stripes): the scream stand-in."""
    y, x = np.mgrid[0:300, 0:400] / np.array([300.0, 400.0])[:, None, None]
    rgb = np.stack([x, y, 0.5 + 0.5 * np.sin(12 * x + 7 * y)], axis=-1)
    return Image.fromarray((rgb * 255).round().astype(np.uint8))


class _Images:
    """``images[indices]`` of the reference's (N, 64, 64) array, rendered by our generator on demand."""

    def __init__(self):
        self.dsprites = DSprites()

    def __getitem__(self, index):
        factors = self.dsprites.index_to_factors(np.asarray(index))
        return self.dsprites.images(factors)[:, 0].astype(np.uint8)


def reference_module(dlib: Path):
    tf = types.ModuleType("tensorflow")
    tf.compat = types.ModuleType("tensorflow.compat")
    tf.compat.v1 = types.ModuleType("tensorflow.compat.v1")
    tf.compat.v1.gfile = types.SimpleNamespace(Open=open)
    six = types.ModuleType("six")
    six.moves = types.SimpleNamespace(range=range)                   # the reference's py2 shim
    sys.modules.update({"tensorflow": tf, "tensorflow.compat": tf.compat, "tensorflow.compat.v1": tf.compat.v1,
                        "six": six, "six.moves": six.moves})
    sys.path.insert(0, str(dlib))
    from disentanglement_lib.data.ground_truth import dsprites, util  # noqa: E402  (after the stub)
    return dsprites, util


def build(cls, dsprites, util, scream_path: Path):
    """A reference variant without its __init__ (which loads the 3 GB npz): the same attributes, our images."""
    obj = cls.__new__(cls)
    obj.latent_factor_indices = [1, 2, 3, 4, 5]
    obj.data_shape = [64, 64, 3]
    obj.images = _Images()
    obj.factor_sizes = np.array([1, 3, 6, 40, 32, 32], dtype=np.int64)
    obj.full_factor_sizes = [1, 3, 6, 40, 32, 32]
    obj.factor_bases = np.prod(obj.factor_sizes) / np.cumprod(obj.factor_sizes)
    obj.state_space = util.SplitDiscreteStateSpace(obj.factor_sizes, obj.latent_factor_indices)
    if cls is dsprites.ScreamDSprites:
        with Image.open(scream_path) as scream:
            scream.thumbnail((350, 274))   # the reference passes (350, 274, 3); today's Pillow takes (width, height) only
            obj.scream = np.array(scream) * 1. / 255.
    return obj


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dlib", type=Path)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent.parent / "tests/fixtures/dsprites_variants_reference.npz")
    args = parser.parse_args()
    dlib = args.dlib
    if dlib is None:
        dlib = Path(tempfile.mkdtemp())
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(dlib),
                        "disentanglement-lib==1.5"], check=True)
        zipfile.ZipFile(next(dlib.glob("*.whl"))).extractall(dlib)
    dsprites, util = reference_module(dlib)
    scream_path = args.out.with_name("scream_background.png")
    background().save(scream_path)
    out = {}
    for name, cls in (("color_dsprites", dsprites.ColorDSprites), ("noisy_dsprites", dsprites.NoisyDSprites),
                      ("scream_dsprites", dsprites.ScreamDSprites)):
        data = build(cls, dsprites, util, scream_path)
        for seed in SEEDS:
            factors, images = data.sample(NUM, np.random.RandomState(seed))
            out[f"{name}/{seed}/factors"] = factors
            out[f"{name}/{seed}/images"] = images.astype(np.float32)      # (NUM, 64, 64, 3), as the reference returns
    np.savez_compressed(args.out, **out)
    print(f"wrote {args.out} and {scream_path}")


if __name__ == "__main__":
    main()
