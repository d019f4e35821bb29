"""wzoo's example plugin (see CONTRIBUTING.md)."""
