"""The fhir stage: normalize and validate every resource with fhir.resources.R4B, in parallel."""
