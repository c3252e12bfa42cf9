"""`disentangle datasets --download` against a local HTTP server serving miniature files (no internet): a
download resumes after a cut, a digest mismatch is refused and nothing kept, gzip and tar sources unpack
where --dataset-path expects them, offline is one line."""
import gzip
import hashlib
import io
import tarfile
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from disentanglement.cli import main
from disentanglement.data import download as D
from disentanglement.errors import UserError

PAYLOAD = bytes(range(256)) * 4096          # 1 MiB


class _Handler(SimpleHTTPRequestHandler):
    """Serves the files of ``directory`` with Range support; ``cut`` bytes then a dropped connection when set."""
    cut = None
    ranges = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = self.translate_path(self.path)
        try:
            data = open(path, "rb").read()
        except OSError:
            return self.send_error(404)
        start = 0
        if "Range" in self.headers:
            start = int(self.headers["Range"].split("=")[1].split("-")[0])
            type(self).ranges.append(start)
            if start >= len(data):
                return self.send_error(416)
            self.send_response(206)
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if type(self).cut is not None:
            body, type(self).cut = body[:type(self).cut], None        # one cut, then whole answers
        self.wfile.write(body)


@pytest.fixture()
def server(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    _Handler.cut, _Handler.ranges = None, []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, directory=str(served)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


def _table(url, **remote):
    return {"blob": D.Source((D.Remote("blob.bin", (url + "blob.bin",), **remote),), "blob.bin", "dsprites")}


def test_a_cut_download_resumes_and_is_verified(server, tmp_path):
    served, url = server
    (served / "blob.bin").write_bytes(PAYLOAD)
    table = _table(url, sha256=hashlib.sha256(PAYLOAD).hexdigest())
    _Handler.cut = 300_000
    with pytest.raises(UserError, match="next try resumes"):
        D.download("blob", tmp_path / "data", progress=False, sources=table, say=lambda s: None)
    assert (tmp_path / "data" / "blob" / "blob.bin.part").stat().st_size == 300_000
    path = D.download("blob", tmp_path / "data", progress=False, sources=table, say=lambda s: None)
    assert path.read_bytes() == PAYLOAD and _Handler.ranges == [300_000]          # asked for the rest only
    assert D.download("blob", tmp_path / "data", progress=False, sources=table) == path   # done: nothing fetched


def test_a_digest_mismatch_is_refused_and_nothing_kept(server, tmp_path):
    served, url = server
    (served / "blob.bin").write_bytes(PAYLOAD)
    with pytest.raises(UserError, match="MD5 .* is not the expected") as err:
        D.download("blob", tmp_path / "data", progress=False, sources=_table(url, md5="0" * 32))
    assert "\n" not in str(err.value) and list((tmp_path / "data" / "blob").iterdir()) == []


def test_an_unverified_file_has_its_digest_recorded(server, tmp_path):
    served, url = server
    (served / "blob.bin").write_bytes(PAYLOAD)
    lines = []
    D.download("blob", tmp_path / "data", progress=False, sources=_table(url), say=lines.append)
    recorded = (tmp_path / "data" / "blob" / "blob.bin.sha256").read_text()
    assert recorded.startswith(hashlib.sha256(PAYLOAD).hexdigest()) and "no published digest" in lines[0]


def test_gzip_and_tar_sources_unpack_where_the_loader_reads(server, tmp_path):
    served, url = server
    (served / "a.mat.gz").write_bytes(gzip.compress(b"matrix"))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("data/cars/car_001_mesh.mat")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"mesh"))
    (served / "cars.tar.gz").write_bytes(buffer.getvalue())
    table = {"norb": D.Source((D.Remote("a.mat.gz", (url + "missing.gz", url + "a.mat.gz"), unpack="gunzip"),),
                              ".", "smallnorb"),
             "cars": D.Source((D.Remote("cars.tar.gz", (url + "cars.tar.gz",), unpack="tar", member="data/cars"),),
                              "cars", "cars3d")}
    norb = D.download("norb", tmp_path / "data", progress=False, sources=table, say=lambda s: None)
    assert (norb / "a.mat").read_bytes() == b"matrix" and not (norb / "a.mat.gz").exists()   # second mirror
    cars = D.download("cars", tmp_path / "data", progress=False, sources=table, say=lambda s: None)
    assert (cars / "car_001_mesh.mat").read_bytes() == b"mesh"


def test_offline_unknown_and_by_hand_are_one_line(tmp_path, capsys):
    table = _table("http://127.0.0.1:9/")                         # nothing listens on the discard port
    with pytest.raises(UserError, match="are you offline") as err:
        D.download("blob", tmp_path, progress=False, sources=table, timeout=2)
    assert "\n" not in str(err.value)
    with pytest.raises(UserError, match="no download for 'nope'"):
        D.download("nope", tmp_path)
    with pytest.raises(UserError, match="Google Drive"):
        D.download("celeba", tmp_path)
    assert main(["datasets", "--download", "nope", str(tmp_path)]) != 0
    assert "no download for 'nope'" in capsys.readouterr().err
    assert set(D.SOURCES) >= {"dsprites", "shapes3d", "mpi3d_toy", "mpi3d_real", "smallnorb", "cars3d"}
