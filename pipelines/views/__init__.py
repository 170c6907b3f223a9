"""SQL-on-FHIR v2 ViewDefinition engine."""
