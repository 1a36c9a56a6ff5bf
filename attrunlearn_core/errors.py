"""Errors that the workflow reports as one line, without a traceback."""


class AttrUnlearnError(Exception):
    """A user-facing problem: bad config, missing or malformed data."""


class ConfigError(AttrUnlearnError):
    pass


class DatasetError(AttrUnlearnError):
    pass
