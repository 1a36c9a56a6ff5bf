"""Errors that the workflow reports as one line, without a traceback."""


class AttrUnlearnError(Exception):
    """A user-facing problem: bad config, missing or malformed data."""


class ConfigError(AttrUnlearnError):
    pass


class DatasetError(AttrUnlearnError):
    pass


class ArtifactError(AttrUnlearnError):
    """A checkpoint, prepared cache or feature file that cannot be used (truncated, wrong format, wrong model)."""


class DivergenceError(AttrUnlearnError):
    """Training produced a non-finite loss; the job stops before writing anything."""


class EnvironmentFault(AttrUnlearnError):
    """The machine, not the config or the data: a full disk, a tracking store that is corrupt or does not answer, no GPU."""


class DiskFullError(EnvironmentFault):
    pass
