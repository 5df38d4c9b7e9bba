"""The pipeline stages, in order: ingest, distort, score, export, bench, report, publish."""
