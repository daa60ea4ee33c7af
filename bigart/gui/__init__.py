"""bigart.gui: the desktop app (PySide6). Thin widgets over :mod:`bigart.explore` (see ARCHITECTURE.md).

``bigart.gui.app.run(argv)`` starts it; ``bigart gui`` on the command line does the same.
"""
