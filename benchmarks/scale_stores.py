"""The MLflow stores the scale benchmark runs against, each started for one run and read back after it.

- ``sqlite``: a SQLite file the driver writes itself (``--tracking-uri sqlite:///...``, genstudy's default).
- ``server``: ``mlflow server`` on 127.0.0.1 over a SQLite file (``tests.cluster.MlflowServer``), the clients on HTTP.
- ``postgres``: the team set-up (``tests.team_server``): a throwaway PostgreSQL cluster on loopback holding MLflow's
  backend and auth databases, MLflow's basic-auth app in front, the clients passing the admin's credentials in
  ``MLFLOW_TRACKING_USERNAME``/``MLFLOW_TRACKING_PASSWORD`` as MLflow's client reads them.

Each yields a :class:`Store`: the URI and variables a driver is started with, and ``query``, which reads the backend
database directly (SQL with ``%s`` placeholders; the tables are MLflow's on every backend).
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

STORES = ("sqlite", "server", "postgres")


@dataclass
class Store:
    kind: str
    uri: str  # what --tracking-uri gets
    query: Callable[..., list[tuple]]  # (sql with %s placeholders, *args) -> rows, from the backend database
    env: dict[str, str] = field(default_factory=dict)  # credentials for the drivers


def _sqlite_reader(db: Path) -> Callable[..., list[tuple]]:
    def query(sql: str, *args) -> list[tuple]:
        with sqlite3.connect(db) as con:
            return con.execute(sql.replace("%s", "?"), args).fetchall()
    return query


def _postgres_reader(uri: str) -> Callable[..., list[tuple]]:
    def query(sql: str, *args) -> list[tuple]:
        import psycopg

        with psycopg.connect(uri.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=10) as con:
            return con.execute(sql, args).fetchall()
    return query


@contextmanager
def store(kind: str, folder: Path) -> Iterator[Store]:
    """The ``kind`` store for one run, its files (and any server's log) in ``folder``; servers stopped on exit."""
    if kind == "sqlite":
        db = folder / "mlflow.db"
        yield Store(kind, f"sqlite:///{db}", _sqlite_reader(db))
    elif kind == "server":
        from tests.cluster import MlflowServer

        with MlflowServer(folder) as server:
            yield Store(kind, server.uri, _sqlite_reader(folder / "server.db"))
    elif kind == "postgres":
        from tests.team_server import team_server

        with team_server(folder) as server:
            yield Store(kind, server.uri, _postgres_reader(server.database_uri), env=server.env())
    else:
        raise ValueError(f"unknown MLflow store {kind!r}: one of {', '.join(STORES)}")
