"""Errors that readbot reports to a person as one clear line (never a traceback)."""


class ReadbotError(Exception):
    """Base for errors with a message fit to show a person."""


class ConfigError(ReadbotError):
    """A setting is missing or malformed; the message names the setting."""


class InputError(ReadbotError):
    """What a person typed can't be used; the message says why and what to do."""


class BrokenInstall(ReadbotError):
    """Something readbot runs on is missing or damaged (its index, a model file): the CLI exits 1,
    the message naming the fix."""
