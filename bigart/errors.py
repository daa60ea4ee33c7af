"""Error types a user can act on. Expected failures raise these; the CLI prints them without a traceback."""


class BigartError(Exception):
    """Base of every error bigart reports to a user as a short message."""


class ModelLoadError(BigartError):
    """A model file could not be read: unsafe, damaged, or of an unknown architecture.

    The message names the file and what was expected.
    """


class ImageError(BigartError):
    """An input image could not be used: not an image, damaged, empty or too large. The message names the file."""
