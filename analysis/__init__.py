"""Analysis of finished studies from the MLflow record: best configs, tables, figures, report."""
