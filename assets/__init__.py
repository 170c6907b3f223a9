"""The Dagster asset graph: thin wrappers over the engine in `fhirmony` (pipelines/)."""
