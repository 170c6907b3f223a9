"""fhirmony: national health datasets to harmonized, FHIR-aligned Parquet releases."""
