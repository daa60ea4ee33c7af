"""bigart.jobs (see ARCHITECTURE.md)."""
