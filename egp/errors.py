"""The error classes that EGP raises for a user's mistakes, each carrying one clear message."""


class EGPError(Exception):
    """Base of every error EGP reports to a user as one line, without a traceback."""


class ConfigurationError(EGPError):
    """A setting is missing or malformed."""
