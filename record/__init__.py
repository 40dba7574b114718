"""The MLflow record of a study, owned in one place.

- :mod:`record.schema`: the names of the record (tags, params, parent metrics, artifacts, statuses);
- :mod:`record.store`: the tracking URI, a fail-fast check of it, the client, retrying transient errors;
- :mod:`record.writer`: the one writer every MLflow write of a study goes through (queued, in order);
- :mod:`record.reader` and :mod:`record.study_record`: reading a study's invocations and trials back;
- :mod:`record.config_file`: the ``best_config.yaml`` format; :mod:`record.references`: published numbers;
- :mod:`record.errors`: the usage error (exit code 2) and the parser that reports one.

``study/`` writes through this package and ``analysis/`` reads through it; neither reaches MLflow's
record any other way, and this package imports nothing from either.
"""
