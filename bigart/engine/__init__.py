"""bigart.engine (see ARCHITECTURE.md)."""
