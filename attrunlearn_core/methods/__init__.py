"""Unlearning methods by name. Add a method: one file in this package with a subclass decorated `@register_method`."""

from __future__ import annotations

from attrunlearn_core.methods.base import MethodResult, UnlearningContext, UnlearningMethod
from attrunlearn_core.registry import Registry

METHODS: Registry[type[UnlearningMethod]] = Registry("method", __name__)
register_method = METHODS.register
list_methods = METHODS.names
get_method_class = METHODS.get

__all__ = ["METHODS", "MethodResult", "UnlearningContext", "UnlearningMethod", "get_method_class", "list_methods", "register_method"]
