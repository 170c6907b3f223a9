"""Publishing a release: Parquet layout, manifest, DuckDB catalog, datasheet, Croissant."""
