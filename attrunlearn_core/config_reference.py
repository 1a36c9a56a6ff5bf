"""docs/configuration.md, generated from the config schema: every key with its type, default and description.

    python -m attrunlearn_core.config_reference > docs/configuration.md

A test keeps the page equal to what this prints, and every key of the schema described.
"""

from __future__ import annotations

import sys

import yaml

from attrunlearn_core.config import SCHEMA_PATH

HEADER = """# Configuration reference

Every key a grid config may hold, generated from `attrunlearn_core/config.schema.yaml` (do not edit by hand:
`python -m attrunlearn_core.config_reference > docs/configuration.md`). `<name>` stands for a name you choose.
A config is checked against this schema when the DAG is built; an unknown key, a wrong type or a value out of
range stops the build with one line naming the key. Method hyper-parameters (`methods.<name>.params`) are
described in [Methods](methods/index.md).
"""


def _resolve(node: dict, schema: dict) -> dict:
    while "$ref" in node:
        node = {**schema["$defs"][node["$ref"].split("/")[-1]], **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _type(node: dict, schema: dict) -> str:
    node = _resolve(node, schema)
    if "anyOf" in node:
        return " or ".join(_type(option, schema) for option in node["anyOf"])
    if "enum" in node:
        return " \\| ".join(f"`{value}`" for value in node["enum"])
    kind = node.get("type", "object")
    kinds = kind if isinstance(kind, list) else [kind]
    words = []
    for kind in kinds:
        if kind == "array":
            words.append(f"list of {_type(node['items'], schema)}" if "items" in node else "list")
        elif kind == "null":
            words.append("null")
        else:
            words.append(kind)
    if "oneOf" in node:
        return " or ".join(_type(option, schema) for option in node["oneOf"])
    return " or ".join(words)


def _default(node: dict) -> str:
    return f"`{yaml.safe_dump(node['default'], default_flow_style=True).strip().removesuffix('...').strip()}`" if "default" in node else ""


def _rows(key: str, node: dict, schema: dict, required: bool) -> list[tuple[str, str, str, str]]:
    node = _resolve(node, schema)
    rows = [(f"`{key}`" + (" (required)" if required else ""), _type(node, schema), _default(node), node.get("description", ""))]
    if "properties" in node:
        for name, child in node["properties"].items():
            rows += _rows(f"{key}.{name}", child, schema, name in node.get("required", []))
    elif isinstance(node.get("additionalProperties"), dict):
        child = _resolve(node["additionalProperties"], schema)
        if "properties" in child:
            for name, grandchild in child["properties"].items():
                rows += _rows(f"{key}.<name>.{name}", grandchild, schema, name in child.get("required", []))
    if "anyOf" in node:  # a block or a list of them: the block's keys
        block = _resolve(node["anyOf"][0], schema)
        for name, child in block.get("properties", {}).items():
            rows += _rows(f"{key}.{name}", child, schema, name in block.get("required", []))
    return rows


def undocumented(schema: dict | None = None) -> list[str]:
    """Keys of the schema without a description."""
    schema = schema or yaml.safe_load(SCHEMA_PATH.read_text())
    return [key for key, _, _, text in _all_rows(schema) if not text]


def _all_rows(schema: dict) -> list[tuple[str, str, str, str]]:
    rows = []
    for name, node in schema["properties"].items():
        rows += _rows(name, node, schema, name in schema.get("required", []))
    return rows


def _table(rows: list[tuple[str, str, str, str]]) -> list[str]:
    escape = lambda text: text.replace("<", "&lt;").replace("|", "\\|")  # noqa: E731 - <name> is no HTML tag
    lines = ["| key | type | default | description |", "| --- | --- | --- | --- |"]
    return lines + [f"| {key} | {kind} | {default} | {escape(text)} |" for key, kind, default, text in rows]


def config_reference() -> str:
    schema = yaml.safe_load(SCHEMA_PATH.read_text())
    nested = lambda node: any(k in _resolve(node, schema) for k in ("properties", "additionalProperties", "anyOf"))  # noqa: E731
    top = [name for name, node in schema["properties"].items() if not nested(node)]
    sections = [
        HEADER,
        "\n".join(
            [
                "## Top-level keys",
                "",
                *_table([row for name in top for row in _rows(name, schema["properties"][name], schema, name in schema["required"])]),
            ]
        )
        + "\n",
    ]
    for name, node in schema["properties"].items():
        if name in top:
            continue
        rows = _rows(name, node, schema, name in schema.get("required", []))
        sections.append("\n".join([f"## `{name}`", "", rows[0][3].replace("<", "&lt;"), "", *_table(rows)]) + "\n")
    return "\n".join(sections)


if __name__ == "__main__":
    sys.stdout.write(config_reference())
