"""The datasets read from files, fetched in one command: ``disentangle datasets --download NAME [DIR]``.

Each source is its publisher's URLs (mirrors tried in order), resumed where a previous try stopped (an HTTP
Range request on the ``.part`` file), checked against its digest where one is known, unpacked where the
publisher packs it, and placed where ``--dataset-path`` expects it; the command prints that path.  Nothing
else in the library touches the network.

Where the URLs and digests come from (facts, named where read):

- dSprites, SmallNORB, Cars3D, the Scream picture and MPI3D-toy: Google's disentanglement_lib,
  ``bin/dlib_download_data``;
- 3D Shapes: DeepMind's 3d-shapes repository (the GCS bucket); its MD5 ``099a2078d58cec4daad0702c55d06868`` as
  recorded by a third party (the ``latte`` package, ``latte/dataset/shapes3d.py``), not by DeepMind;
- MPI3D realistic and real: the rr-learning/disentanglement_dataset README's bucket (``Final_Dataset``).

No publisher gives a digest for the others: their SHA-256 is written beside the file on first download
(``NAME.sha256``) and the command says the file was not verified.  CelebA (Google Drive behind a confirmation
page) and MPI3D-complex (no stable URL found) are not downloadable here; their listing says where to get them.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import sys
import tarfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from tqdm.auto import tqdm

from ..errors import UserError

CHUNK = 1 << 20
DSPRITES = "https://github.com/deepmind/dsprites-dataset/raw/master/"
NORB = "https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/"
MPI3D = "https://storage.googleapis.com/disentanglement_dataset/"
NORB_FILES = [f"smallnorb-5x{ids}x9x18x6x2x96x96-{split}-{kind}.mat"
              for ids, split in (("46789", "training"), ("01235", "testing")) for kind in ("dat", "cat", "info")]


@dataclass(frozen=True)
class Remote:
    """One file to fetch: its name on disk, URLs (mirrors in order), digest where known, how it is unpacked."""

    name: str
    urls: tuple[str, ...]
    md5: Optional[str] = None
    sha256: Optional[str] = None
    unpack: str = ""                    # "" | "gunzip" (-> name without .gz) | "tar" (extract, then keep ``member``)
    member: str = ""                    # the folder of a tarball that is the dataset


@dataclass(frozen=True)
class Source:
    """What ``--download NAME`` fetches into DIR/NAME, and the path ``--dataset-path`` then takes."""

    files: tuple[Remote, ...]
    path: str                           # relative to DIR/NAME: the file or folder the loader reads
    dataset: str                        # the --dataset it is for
    about: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)


SOURCES: dict[str, Source] = {
    "dsprites": Source((Remote("dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz",
                               (DSPRITES + "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz",)),),
                       "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz", "dsprites", "DeepMind's dSprites (Matthey et al. 2017)"),
    "shapes3d": Source((Remote("3dshapes.h5", ("https://storage.googleapis.com/3d-shapes/3dshapes.h5",),
                               md5="099a2078d58cec4daad0702c55d06868"),),
                       "3dshapes.h5", "shapes3d", "DeepMind's 3D Shapes (Kim & Mnih 2018)"),
    "mpi3d_toy": Source((Remote("mpi3d_toy.npz", (
        MPI3D + "data_npz/sim_toy_64x_ordered_without_heldout_factors.npz", MPI3D + "Final_Dataset/mpi3d_toy.npz")),),
        "mpi3d_toy.npz", "mpi3d", "MPI3D, simplistic renderings (Gondal et al. 2019)"),
    "mpi3d_realistic": Source((Remote("mpi3d_realistic.npz", (MPI3D + "Final_Dataset/mpi3d_realistic.npz",)),),
                              "mpi3d_realistic.npz", "mpi3d", "MPI3D, realistic renderings"),
    "mpi3d_real": Source((Remote("mpi3d_real.npz", (MPI3D + "Final_Dataset/mpi3d_real.npz",)),),
                         "mpi3d_real.npz", "mpi3d", "MPI3D, camera images of the real platform"),
    "smallnorb": Source(tuple(Remote(f + ".gz", (NORB + f + ".gz",), unpack="gunzip") for f in NORB_FILES),
                        ".", "smallnorb", "SmallNORB (LeCun et al. 2004), the six .mat files"),
    "cars3d": Source((Remote("nips2015-analogy-data.tar.gz", ("http://www.scottreed.info/files/nips2015-analogy-data.tar.gz",),
                             unpack="tar", member="data/cars"),),
                     "cars", "cars3d", "Cars3D (Reed et al. 2015), the folder of car_*_mesh.mat"),
    "scream": Source((Remote("scream.jpg", ("https://upload.wikimedia.org/wikipedia/commons/f/f4/The_Scream.jpg",)),),
                     "scream.jpg", "scream_dsprites", "Munch's The Scream, scream_dsprites' background"),
}
BY_HAND = {
    "celeba": "CelebA sits on Google Drive behind a confirmation page: get img_align_celeba.zip and "
              "list_attr_celeba.txt from mmlab.ie.cuhk.edu.hk/projects/CelebA.html",
    "mpi3d_complex": "MPI3D-complex: see github.com/rr-learning/disentanglement_dataset for its current link",
}


def download(name: str, root: str | Path = "data", *, progress: bool = True, sources: dict | None = None,
             say: Callable[[str], None] | None = None, timeout: float = 30.0) -> Path:
    """Fetch dataset ``name`` into ``root/name`` (resuming, verifying, unpacking); return the path to pass as
    ``--dataset-path``.  One-line ``UserError`` when offline, on a digest mismatch, for an unknown name."""
    table = SOURCES if sources is None else sources
    say = say or (lambda line: print(f"disentangle: {line}", file=sys.stderr))
    if name not in table:
        hint = BY_HAND.get(name)
        raise UserError(hint + " — then pass it with --dataset-path" if hint else
                        f"no download for {name!r}; choose one of: {', '.join(table)}")
    source = table[name]
    folder = Path(root).expanduser() / name
    folder.mkdir(parents=True, exist_ok=True)
    for remote in source.files:
        _fetch(remote, folder, progress=progress, say=say, timeout=timeout)
    target = (folder / source.path).resolve()
    if not target.exists():
        raise UserError(f"{name}: downloaded, but {target} is missing; the publisher's archive may have changed — "
                        f"look inside {folder}")
    return target


def _done(remote: Remote, folder: Path) -> bool:
    """Whether ``remote`` is already fetched (and unpacked) in ``folder``."""
    if remote.unpack == "gunzip":
        return (folder / remote.name.removesuffix(".gz")).exists()
    if remote.unpack == "tar":
        return (folder / Path(remote.member).name).exists()
    return (folder / remote.name).exists()


def _fetch(remote: Remote, folder: Path, *, progress: bool, say, timeout: float) -> None:
    if _done(remote, folder):
        return
    part = folder / (remote.name + ".part")
    errors = []
    for url in remote.urls:
        try:
            _get(url, part, progress=progress, timeout=timeout)
            break
        except (urllib.error.URLError, OSError, TimeoutError) as err:   # this mirror failed: try the next
            errors.append(f"{url}: {getattr(err, 'reason', err)}")
    else:
        raise UserError(f"cannot download {remote.name} ({'; '.join(errors)}); are you offline? Any partial file "
                        f"{part} is kept and the next try resumes it")
    _verify(remote, part, folder, say)
    final = folder / remote.name
    os.replace(part, final)
    if remote.unpack == "gunzip":
        with gzip.open(final, "rb") as src, open(folder / (remote.name + ".tmp"), "wb") as dst:
            shutil.copyfileobj(src, dst, CHUNK)
        os.replace(folder / (remote.name + ".tmp"), folder / remote.name.removesuffix(".gz"))
        final.unlink()
    elif remote.unpack == "tar":
        _untar(final, folder, remote.member)
        final.unlink()


def _get(url: str, part: Path, *, progress: bool, timeout: float) -> None:
    """Append the rest of ``url`` to ``part`` (a Range request from its size); restart if the server ignores it."""
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416:                 # nothing left to fetch: the part file is whole
            return
        raise
    with response:
        resumed = response.status == 206
        length = response.headers.get("Content-Length")
        total = (have if resumed else 0) + int(length) if length else None
        with open(part, "ab" if resumed else "wb") as out, \
                tqdm(total=total, initial=have if resumed else 0, unit="B", unit_scale=True, disable=not progress,
                     desc=part.name.removesuffix(".part")) as bar:
            while True:
                chunk = response.read(CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                bar.update(len(chunk))
    if total is not None and part.stat().st_size < total:
        raise OSError(f"the connection closed at {part.stat().st_size:,} of {total:,} bytes")


def _verify(remote: Remote, part: Path, folder: Path, say) -> None:
    """Check the digest the publisher (or the named third party) gives; record SHA-256 where none is known."""
    sha, md5 = hashlib.sha256(), hashlib.md5()
    with open(part, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            sha.update(chunk)
            md5.update(chunk)
    for kind, want, got in (("SHA-256", remote.sha256, sha.hexdigest()), ("MD5", remote.md5, md5.hexdigest())):
        if want and want != got:
            part.unlink()
            raise UserError(f"{remote.name}: {kind} {got} is not the expected {want}; the file was deleted — the "
                            f"mirror may serve another version, try again or fetch it by hand")
    if not (remote.sha256 or remote.md5):
        (folder / (remote.name + ".sha256")).write_text(f"{sha.hexdigest()}  {remote.name}\n")
        say(f"{remote.name}: no published digest to verify against; its SHA-256 {sha.hexdigest()[:16]}… is recorded "
            f"in {remote.name}.sha256")


def _untar(archive: Path, folder: Path, member: str) -> None:
    """Extract the ``member`` folder of ``archive`` into ``folder`` (its last path part), refusing unsafe paths."""
    staging = folder / (archive.name + ".extract")
    with tarfile.open(archive) as tar:
        for item in tar.getmembers():
            if item.name.startswith("/") or ".." in Path(item.name).parts:
                raise UserError(f"{archive.name}: unsafe path {item.name!r} in the archive; not extracted")
        if hasattr(tarfile, "data_filter"):        # Python >= 3.11.4: no links out, no device files
            tar.extractall(staging, filter="data")
        else:
            tar.extractall(staging)
    source = staging / member
    if not source.exists():
        raise UserError(f"{archive.name}: no {member}/ in the archive; the publisher's archive may have changed")
    os.replace(source, folder / Path(member).name)
    shutil.rmtree(staging)
