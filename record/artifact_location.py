"""Whether a tracking URI can write the artifacts of a study's experiment, checked before Ray starts.

A tracking server that serves artifacts (``mlflow server --artifacts-destination DIR``, MLflow's default) gives the
experiments made through it the location ``mlflow-artifacts:/<id>``, which only a client of that server can write:
MLflow resolves it against an ``http(s)://`` tracking URI. A driver given the server's database itself
(``postgresql+psycopg://...``, or the server's SQLite file) trained the whole study, recorded its metrics, then had
its artifacts refused, could not publish the model, and exited 3 with the record incomplete (seen with this check
removed); it stops before Ray instead, naming the server's address as the fix.
"""

from __future__ import annotations

from record.errors import UsageError
from record.store import client, is_database_server, retry, shown_uri, sqlite_path

SERVED = "mlflow-artifacts:"  # the scheme of the artifacts a tracking server keeps for its clients


def check(uri: str, experiment: str) -> None:
    """Raise UsageError when ``uri`` is a database and its experiment ``experiment`` keeps its artifacts on a
    tracking server. A SQLite file that does not exist yet (it is not created here), a server URI, or a database
    without that experiment pass: the study makes the experiment, with its artifacts where that store puts them."""
    if not _is_database(uri):
        return
    exp = retry(client(uri).get_experiment_by_name, experiment)
    if exp is None or not exp.artifact_location.startswith(SERVED):
        return
    raise UsageError(f"tracking URI {shown_uri(uri)!r}: experiment {experiment!r} keeps its artifacts on a tracking "
                     f"server ({exp.artifact_location}), which only the server's clients can write; fix: pass the "
                     "server's http:// address as --tracking-uri (with MLFLOW_TRACKING_USERNAME and "
                     "MLFLOW_TRACKING_PASSWORD if it asks for credentials)")


def _is_database(uri: str) -> bool:
    db = sqlite_path(uri)
    if db is not None:
        return db.is_file()
    return is_database_server(uri)
