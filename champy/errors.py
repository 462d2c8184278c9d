"""Errors that reach the user as a clear one-line message (CLI exit code 2, a message in the app)."""


class ChampyError(Exception):
    """A problem with the user's input or environment, explained in plain words."""


class BadImageError(ChampyError):
    """An image file that cannot be read as a photo (missing, empty, corrupt, too large...)."""


class ModelLoadError(ChampyError):
    """A model file or model card that cannot be loaded."""
