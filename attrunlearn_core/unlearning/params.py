"""Value checks for method hyper-parameters; they run when the config is validated, so a bad value fails before any job starts."""

from __future__ import annotations

from attrunlearn_core.errors import ConfigError


def require_choice(method: str, params: dict, key: str, choices: tuple[str, ...]) -> None:
    if params[key] not in choices:
        raise ConfigError(f"{key}: {params[key]!r} is not one of {', '.join(choices)} (method {method!r})")


def require_number(method: str, params: dict, key: str, minimum: float = 0.0, integer: bool = False, strict: bool = False) -> None:
    value = params[key]
    kind = int if integer else (int, float)
    too_small = value <= minimum if strict else value < minimum
    if isinstance(value, bool) or not isinstance(value, kind) or too_small:
        bound = f"{'>' if strict else '>='} {minimum}"
        raise ConfigError(f"{key}: {value!r} must be {'an integer' if integer else 'a number'} {bound} (method {method!r})")


def require_bool(method: str, params: dict, key: str) -> None:
    if not isinstance(params[key], bool):
        raise ConfigError(f"{key}: {params[key]!r} must be true or false (method {method!r})")
