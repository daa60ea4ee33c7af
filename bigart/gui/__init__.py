"""bigart.gui (see ARCHITECTURE.md)."""
