"""Tune's storage path as Ray reads it: a local folder or a URI (``s3://``, ``gs://``, ``file://``, ...).

A URI stays a URI and is reached through the pyarrow filesystem it names, as Ray Tune does; only a
plain path is expanded and made absolute. Everything a study reads or writes beside Tune's own
experiment state (the invocation record, the final searcher state) goes through these functions.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs

from record.errors import UsageError

URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
DEFAULT = "~/ray_results"  # Tune's default
STAGING_ROOT = Path("~/.cache/genstudy/staging")  # best checkpoints of running trials when storage is remote
# object stores and cluster filesystems: pyarrow may ask the network while opening one (an S3 bucket's region)
NETWORK_SCHEMES = frozenset({"s3", "gs", "gcs", "abfs", "abfss", "hdfs", "viewfs"})


def is_uri(location: str) -> bool:
    return bool(URI.match(location))


def resolve(cli_value: str | None) -> str:
    """``--storage-path`` as Tune will read it: a URI unchanged (only a trailing slash dropped), a
    local path expanded and absolute."""
    value = cli_value or DEFAULT
    if is_uri(value):
        return value.rstrip("/")
    return str(Path(value).expanduser().resolve())


def join(base: str, *names: str) -> str:
    """``base/name/...`` for a folder or a URI (a URI's query string, such as S3's
    ``?endpoint_override=...``, stays at the end)."""
    head, sep, query = base.partition("?") if is_uri(base) else (base, "", "")
    return "/".join([head.rstrip("/"), *names]) + sep + query


def filesystem(location: str) -> tuple[pafs.FileSystem, str]:
    """The pyarrow filesystem of ``location`` and the path on it.

    Raises:
        UsageError: a URI pyarrow (and so Ray) cannot open: an unknown scheme, an S3 URI without a bucket.
    """
    if is_uri(location):
        try:
            return pafs.FileSystem.from_uri(pyarrow_uri(location))
        except pa.ArrowInvalid as e:
            raise UsageError(f"storage path {location!r}: {e}; fix: pass a folder or a URI Ray can write to "
                             "(file://, s3://, gs://, ...) with --storage-path") from None
    return pafs.LocalFileSystem(), str(Path(location).expanduser().resolve())


def pyarrow_uri(location: str) -> str:
    """``location`` as pyarrow (ours and Ray's) should open it: an ``s3://`` URI gets
    ``allow_delayed_open=true`` unless it says otherwise, so a small file (a record, Tune's state, a
    journal) is written with one PutObject instead of a three-request multipart upload, whose
    CompleteMultipartUpload some S3-compatible servers (moto under load) answer with an error."""
    if not location.lower().startswith("s3://") or "allow_delayed_open=" in location:
        return location
    return location + ("&" if "?" in location else "?") + "allow_delayed_open=true"


def local_path(location: str) -> Path | None:
    """The local folder of ``location`` (a plain path or a ``file://`` URI), else None; decided by
    the scheme alone (resolving an ``s3://`` filesystem asks the network for the bucket's region)."""
    if not is_uri(location):
        return Path(location).expanduser().resolve()
    if location.lower().startswith("file://"):
        return Path(filesystem(location)[1])
    return None


WRITE_ATTEMPTS = 4  # tries of one object-store write before its error is raised


def write_text(location: str, text: str) -> None:
    """Write ``text`` to the file ``location`` (its folder is created); written to a temporary name
    and moved, so a reader sees the old file or the new one."""
    fs, path = filesystem(location)
    fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
    tmp = path + ".tmp"
    for attempt in range(WRITE_ATTEMPTS):
        try:
            with fs.open_output_stream(tmp) as f:
                f.write(text.encode("utf-8"))
            break
        except OSError:  # an object store's transient 5xx (S3 asks clients to retry InternalError)
            if attempt == WRITE_ATTEMPTS - 1 or isinstance(fs, pafs.LocalFileSystem):
                raise
            time.sleep(0.5 * 2 ** attempt)
    fs.move(tmp, path)


def read_text(location: str) -> str | None:
    """The file ``location`` as text, or None when it does not exist."""
    fs, path = filesystem(location)
    if fs.get_file_info(path).type != pafs.FileType.File:
        return None
    with fs.open_input_stream(path) as f:
        return f.read().decode("utf-8")


def folders(location: str, prefix: str = "") -> list[str]:
    """Names of the folders directly in ``location`` that start with ``prefix`` (none if it is missing)."""
    fs, path = filesystem(location)
    infos = fs.get_file_info(pafs.FileSelector(path, allow_not_found=True))
    return sorted(i.base_name for i in infos if i.type == pafs.FileType.Directory and i.base_name.startswith(prefix))


def download(location: str, suffix: str, local_dir: Path) -> list[Path]:
    """Copy the files directly in folder ``location`` whose names end with ``suffix`` into ``local_dir``."""
    fs, path = filesystem(location)
    out = []
    for info in fs.get_file_info(pafs.FileSelector(path, allow_not_found=True)):
        if info.type == pafs.FileType.File and info.base_name.endswith(suffix):
            target = local_dir / info.base_name
            with fs.open_input_stream(info.path) as src:
                target.write_bytes(src.read())
            out.append(target)
    return out


def name(location: str) -> str:
    """The last component of a folder or a URI (its query string left out)."""
    return location.partition("?")[0].rstrip("/").rsplit("/", 1)[-1]


SPOOL_ROOT = Path("~/.cache/genstudy/spool")  # MLflow writes kept while the store is away, when storage is remote


def spool_dir(experiment: str) -> Path:
    """Where MLflow writes wait while the tracking store does not answer (:mod:`record.spool`): in the
    experiment folder when it is local, else a local cache folder named after the experiment; ``--resume``
    writes them."""
    local = local_path(experiment)
    return local / "mlflow_spool" if local is not None else SPOOL_ROOT.expanduser() / name(experiment)


def staging_dir(experiment: str) -> str:
    """Where the MLflow callback keeps each running trial's best checkpoint until the trial ends: in
    the experiment folder when it is local (a resumed driver finds it there), else a local cache
    folder named after the experiment (logged to MLflow and deleted as each trial ends)."""
    local = local_path(experiment)
    if local is not None:
        return str(local / "genstudy_best")
    return str(STAGING_ROOT.expanduser() / name(experiment))
