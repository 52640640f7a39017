"""The error classes that EGP raises for a user's mistakes, each carrying one clear message."""


class EGPError(Exception):
    """Base of every error EGP reports to a user as one line, without a traceback."""


class ConfigurationError(EGPError):
    """A setting is missing or malformed."""


def one_line(error: BaseException, limit: int = 300) -> str:
    """Return an exception's message as a single line of at most `limit` characters."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
