"""Connecting d2a to the systems around it: the caseload sheet and the hospital's ADT feed in,
the national sitrep submission and FHIR UK Core out."""
