"""bigart.explore (see ARCHITECTURE.md)."""
