"""The per-source stages (landing, harmonized, deidentified) as plain functions; the fhir stage is `fhirmony.fhir`."""
