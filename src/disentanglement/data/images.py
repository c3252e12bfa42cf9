"""A folder of the user's own images as a dataset: ``--dataset images --dataset-path DIR``.

Every PNG / JPEG under ``DIR`` (searched recursively, sorted by path) is one observation, centre-cropped to a
square and resized to ``image_size`` (64 by default; ``--set image_size=128``), grey when every file is grey,
RGB otherwise.  Files are decoded when a batch is drawn — in the prefetch thread during training
(``BatchStream``) — JPEGs at the smallest of libjpeg's 1/2, 1/4, 1/8 scales that still covers the size
(``Image.draft``), so a photograph is not decoded at full resolution to become 64 x 64.

Factors, when the folder says what they are:

- ``DIR/attributes.csv``: a header row, then one row per image: its path relative to ``DIR`` (or its file name,
  when that is unique), then integer columns (classes, counts, or CelebA's -1 / 1).  Each column is a factor;
  its distinct values, sorted, are the factor's classes.
- CelebA's own layout (Liu et al. 2015): ``DIR/img_align_celeba/*.jpg`` with ``DIR/list_attr_celeba.txt``
  (a count line, the 40 attribute names, then ``000001.jpg -1 1 ...``), read as it is.

Without either, the one "factor" is the image's index (``has_factors`` False): training, traversals,
reconstructions, the unsupervised metrics and UDR work; the factor metrics say they need factors.

With attributes the factors are a table, not always a grid.  When every combination of the classes has an
image (``complete``, e.g. a dataset rendered to PNG over its whole grid) the dataset is an ordinary
``FactorDataset``: factors drawn column by column as the reference draws them, so a model scores the numbers
of the dataset it was rendered from.  Otherwise (CelebA) factors are drawn as the rows of a uniformly drawn
image, and metrics that fix one factor and redraw the others (β-VAE and FactorVAE scores, the traversal score)
say they need the whole grid.  Where several images share one combination, ``images`` draws one of them
uniformly (``stochastic``).

A file that cannot be opened is skipped when the folder is read, with a count; one that opens but cannot be
decoded (a truncated JPEG) is replaced by the next image with its factors when it is drawn, and said once.
"""
from __future__ import annotations

import csv
import hashlib
import os
import sys
from pathlib import Path
from typing import Optional

import numpy as np
from PIL import Image

from ..errors import UserError
from .base import FactorDataset, randint, user_path

EXTENSIONS = (".png", ".jpg", ".jpeg")
FORMATS = ("PNG", "JPEG")                      # the decoders PIL tries (no probing of every plugin)
GREY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "F"})
ATTRIBUTES = "attributes.csv"
CELEBA_ATTRIBUTES, CELEBA_IMAGES = "list_attr_celeba.txt", "img_align_celeba"
UNREADABLE = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)   # what PIL raises on a bad file


class ImageFolder(FactorDataset):
    """The images under a folder, with the factors of its attribute table when it has one.

    ``images(factors, rng)`` -> (n, C, S, S) float32 in [0, 1]; ``files`` the images' paths (sorted), ``classes``
    (N, K) each image's factor classes, ``values`` each factor's class values as written in the table."""

    name = "images"
    factor_names: tuple[str, ...] = ()            # known when the folder is read
    factor_sizes: tuple[int, ...] = ()
    observation_shape = (3, 64, 64)               # the instance's: channels found, image_size
    source = (f"a folder of PNG / JPEG images (searched recursively), with an optional {ATTRIBUTES} (file name, "
              f"then integer columns) or CelebA's {CELEBA_IMAGES}/ + {CELEBA_ATTRIBUTES}")
    resizable = True

    def __init__(self, path: Optional[str] = None, image_size: int = 64):
        root = Path(user_path(path, "images", "PNG / JPEG images", folder=True))
        if image_size < 8:
            raise UserError(f"image_size must be at least 8, got {image_size}")
        self.root, self.image_size, self.notes = root, int(image_size), []
        celeba = (root / CELEBA_ATTRIBUTES).is_file() and (root / CELEBA_IMAGES).is_dir()
        image_root = root / CELEBA_IMAGES if celeba else root
        files = find_images(image_root)
        files, modes = self._readable(files)
        if (root / ATTRIBUTES).is_file():
            names, table = read_attributes_csv(root / ATTRIBUTES)
        elif celeba:
            names, table = read_celeba_attributes(root / CELEBA_ATTRIBUTES)
        else:
            names, table = None, None
        if table is None:
            self.has_factors = False
            classes = np.arange(len(files), dtype=np.int64)[:, None]              # (N, 1): the index
            self.factor_names, self.values = ("image",), [np.arange(len(files))]
        else:
            keep, rows = match_attributes(files, image_root, table, root / (ATTRIBUTES if not celeba else
                                                                            CELEBA_ATTRIBUTES), self.notes)
            files, modes = [files[i] for i in keep], [modes[i] for i in keep]
            raw = np.asarray(rows, dtype=np.int64)                                 # (N, K) as written
            self.values = [np.unique(raw[:, k]) for k in range(raw.shape[1])]
            classes = np.stack([np.searchsorted(v, raw[:, k]) for k, v in enumerate(self.values)], 1)
            self.factor_names = tuple(names)
        self.files, self.classes = files, classes.astype(np.int64)                # N paths, (N, K)
        self.factor_sizes = tuple(len(v) for v in self.values)
        channels = 1 if all(m in GREY_MODES for m in modes) else 3
        self.observation_shape = (channels, self.image_size, self.image_size)
        self._index_groups()
        self._bad: set[int] = set()
        self.fingerprint = hashlib.sha256("\n".join([str(root), str(self.image_size), *map(str, files),
                                                     self.classes.tobytes().hex()]).encode()).hexdigest()[:16]

    # ---- reading the folder ------------------------------------------------------------------------------
    def _readable(self, files: list[Path]) -> tuple[list[Path], list[str]]:
        """The files PIL can open (their headers), and their modes; the others skipped with a count."""
        kept, modes, bad = [], [], []
        for f in files:
            try:
                with Image.open(f, formats=FORMATS) as im:
                    modes.append(im.mode)
                kept.append(f)
            except UNREADABLE:
                bad.append(f)
        if bad:
            self.notes.append(f"images: {len(bad)} of {len(files)} files under {self.root} cannot be opened as "
                              f"images and are skipped (first: {bad[0]})")
        if not kept:
            raise UserError(f"dataset images: none of the {len(files)} image files under {self.root} can be opened "
                            f"(first: {bad[0]}); they may be damaged")
        return kept, modes

    def _index_groups(self) -> None:
        """Images grouped by their factor combination, for ``images(factors)``."""
        if np.prod(np.asarray(self.factor_sizes, dtype=np.float64)) >= 2 ** 62:
            raise UserError(f"dataset images: {len(self.factor_sizes)} attributes with {self.factor_sizes} classes "
                            f"have too many combinations to index; keep fewer columns in the attribute table")
        keys = np.ravel_multi_index(tuple(self.classes.T), self.factor_sizes)     # (N,) flat combination
        self._order = np.argsort(keys, kind="stable")                              # images by combination
        self._keys, self._start, self._count = np.unique(keys[self._order], return_index=True, return_counts=True)
        self.stochastic = bool((self._count > 1).any())
        self.complete = len(self._keys) == len(self)

    @property
    def num_images(self) -> int:
        return len(self.files)

    @property
    def present(self) -> int:
        return len(self._keys)

    # ---- sampling and rendering --------------------------------------------------------------------------
    def sample_factors(self, n: int, rng) -> np.ndarray:
        """(n, K): column by column as the reference draws a grid when every combination has an image; else
        the factors of n uniformly drawn images."""
        if self.complete:
            return super().sample_factors(n, rng)
        return self.classes[randint(rng, 0, len(self.files), size=n)]

    def _render(self, factors: np.ndarray, rng=None) -> np.ndarray:
        keys = self.factors_to_index(factors)                                    # (n,)
        at = np.searchsorted(self._keys, keys)
        missing = (at >= len(self._keys)) | (self._keys[np.minimum(at, len(self._keys) - 1)] != keys)
        if missing.any():
            row = factors[np.flatnonzero(missing)[0]]
            raise ValueError(f"no image in {self.root} has the factors "
                             f"{dict(zip(self.factor_names, (int(self.values[k][c]) for k, c in enumerate(row))))} "
                             f"({len(self._keys):,} of the {len(self):,} combinations have images)")
        pick = np.zeros(len(keys), dtype=np.int64)
        if self.stochastic:                                                      # one of the combination's images
            pick = randint(rng, 0, self._count[at], size=len(keys)) if len(keys) else pick
        files = self._order[self._start[at] + pick]                              # (n,) image indices
        out = np.empty((len(files), *self.observation_shape), np.uint8)          # (n, C, S, S)
        for row, i in enumerate(files):
            out[row] = self._decode_or_replace(int(i), int(at[row])).transpose(2, 0, 1)
        unit = out.astype(np.float32)
        unit /= np.float32(255)                  # = TO_UNIT[out] (x / 255, correctly rounded), at half its cost
        return unit

    def _decode_or_replace(self, i: int, group: int) -> np.ndarray:
        """(S, S, C) uint8 of image i, or of the next decodable image with its factors (any image, without
        factors) when i cannot be decoded."""
        grey = self.observation_shape[0] == 1
        if i not in self._bad:
            try:
                return load_image(self.files[i], self.image_size, grey)
            except UNREADABLE as err:
                self._said(i, err)
        if self.has_factors:
            members = self._order[self._start[group]:self._start[group] + self._count[group]]
            start = int(np.flatnonzero(members == i)[0])
            candidates = [int(m) for m in np.roll(members, -start)]
        else:
            candidates = [(i + j) % len(self.files) for j in range(len(self.files))]
        for j in candidates:
            if j in self._bad:
                continue
            try:
                return load_image(self.files[j], self.image_size, grey)
            except UNREADABLE as err:
                self._said(j, err)
        which = f"with the factors of {self.files[i]}" if self.has_factors else "in the folder"
        raise UserError(f"dataset images: no image {which} can be decoded ({self.files[i]} is damaged); remove it "
                        f"(and its row of the attribute table)")

    def _said(self, j: int, err: Exception) -> None:
        """Remember that image j cannot be decoded, and say so once."""
        self._bad.add(j)
        print(f"disentangle: {self.files[j]} cannot be decoded ({type(err).__name__}: {err}); skipped "
              f"({len(self._bad)} so far)", file=sys.stderr, flush=True)


    def describe(self) -> str:
        """One line: how many images, their shape, and what the factors are."""
        shape = "x".join(map(str, self.observation_shape))
        if not self.has_factors:
            return f"{self.num_images:,} images ({shape}) from {self.root}, no factors"
        grid = "every combination present" if self.complete else \
            f"{self.present:,} of {len(self):,} combinations present"
        return (f"{self.num_images:,} images ({shape}) from {self.root}; factors "
                f"{', '.join(f'{n}={s}' for n, s in zip(self.factor_names, self.factor_sizes))} ({grid})")


def find_images(root: Path) -> list[Path]:
    """Every PNG / JPEG under ``root`` (recursively, following no links out of it), sorted by path."""
    found = [Path(d) / f for d, _, names in os.walk(root) for f in names if f.lower().endswith(EXTENSIONS)]
    if not found:
        raise UserError(f"dataset images: no PNG or JPEG file under {root}; pass the folder holding your images")
    return sorted(found)


def load_image(path: Path, size: int, grey: bool) -> np.ndarray:
    """(size, size, 1 or 3) uint8: the file's centred square, resized (PIL's antialiased bilinear)."""
    mode = "L" if grey else "RGB"
    with Image.open(path, formats=FORMATS) as im:
        im.draft(mode, (size, size))                  # JPEG: decode at a scale that still covers size x size
        im = im.convert(mode)
        w, h = im.size
        s = min(w, h)
        left, top = (w - s) // 2, (h - s) // 2
        im = im.crop((left, top, left + s, top + s))
        if s != size:
            im = im.resize((size, size), Image.BILINEAR)
        pixels = np.asarray(im, dtype=np.uint8)
    return pixels[:, :, None] if grey else pixels


def _integer(text: str, where: str, column: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise UserError(f"{where}, column {column!r}: {text.strip()!r} is not an integer; attributes are integer "
                        f"classes (or -1 / 1)") from None


def read_attributes_csv(path: Path) -> tuple[list[str], dict[str, tuple[int, ...]]]:
    """(attribute names, {file name: integer values}) from a CSV whose header names the columns."""
    with open(path, newline="") as f:
        rows = [r for r in csv.reader(f) if any(cell.strip() for cell in r)]
    if len(rows) < 2 or len(rows[0]) < 2:
        raise UserError(f"{path}: expected a header (file, attribute, ...) and one row per image with at least one "
                        f"attribute column")
    names = [n.strip() for n in rows[0][1:]]
    table: dict[str, tuple[int, ...]] = {}
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(names) + 1:
            raise UserError(f"{path} line {line}: {len(row)} cells, the header has {len(names) + 1}")
        name = row[0].strip()
        if name in table:
            raise UserError(f"{path} line {line}: {name} has a row already")
        table[name] = tuple(_integer(v, f"{path} line {line}", c) for v, c in zip(row[1:], names))
    return names, table


def read_celeba_attributes(path: Path) -> tuple[list[str], dict[str, tuple[int, ...]]]:
    """CelebA's ``list_attr_celeba.txt``: a count, the attribute names, then ``file v1 v2 ...`` (-1 / 1)."""
    lines = [ln.split() for ln in path.read_text().splitlines() if ln.strip()]
    if len(lines) < 3:
        raise UserError(f"{path}: expected CelebA's layout (a count line, the attribute names, one line per image)")
    names = lines[1]
    table = {}
    for line, row in enumerate(lines[2:], start=3):
        if len(row) != len(names) + 1:
            raise UserError(f"{path} line {line}: {len(row) - 1} values, {len(names)} attributes named on line 2")
        table[row[0]] = tuple(_integer(v, f"{path} line {line}", c) for v, c in zip(row[1:], names))
    return names, table


def match_attributes(files: list[Path], image_root: Path, table: dict, table_path: Path,
                     notes: list[str]) -> tuple[list[int], list[tuple[int, ...]]]:
    """(indices of the files with a row, their rows): a row names a file by its path relative to ``image_root``
    or by its file name where that is unique.  Files without a row and rows without a file are counted in
    ``notes``; no match at all is an error."""
    relative = [f.relative_to(image_root).as_posix() for f in files]
    by_name: dict[str, list[int]] = {}
    for i, f in enumerate(files):
        by_name.setdefault(f.name, []).append(i)
    keep, rows, used = [], [], set()
    for i, rel in enumerate(relative):
        key = rel if rel in table else files[i].name if len(by_name[files[i].name]) == 1 else None
        if key is not None and key in table:
            keep.append(i)
            rows.append(table[key])
            used.add(key)
    if not keep:
        example = next(iter(table))
        raise UserError(f"{table_path}: none of its {len(table):,} names matches an image under {image_root} (its "
                        f"first: {example!r}; an image there: {relative[0]!r}); name each image by its path relative "
                        f"to the folder, or its file name")
    if len(keep) < len(files):
        notes.append(f"images: {len(files) - len(keep):,} of {len(files):,} images have no row in {table_path.name} "
                     f"and are left out")
    if len(used) < len(table):
        notes.append(f"images: {len(table) - len(used):,} rows of {table_path.name} name no readable image")
    return keep, rows
