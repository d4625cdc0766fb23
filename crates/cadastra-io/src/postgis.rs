//! The registry in PostgreSQL + PostGIS (filled in with the merge work).
