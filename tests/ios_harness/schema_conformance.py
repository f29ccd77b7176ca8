"""Check Swift Codable declarations against the JSON Schema of a pydantic model.

Rules (what "field for field" means here):

- every object in the schema has a Swift struct of the same name, conforming to ``Codable``,
  with an explicit ``CodingKeys`` enum; its JSON keys are exactly the schema's properties;
- a property pydantic allows to be null is a Swift Optional, and only those are;
- a property with a non-null default is decoded with ``decodeIfPresent(...) ?? <default>`` in a
  hand-written ``init(from:)``, with the same default, so Swift accepts every file pydantic does;
- types: integer ↔ ``Int``/``Int64``, number ↔ ``Double``, string ↔ ``String``, boolean ↔
  ``Bool``, array ↔ ``[T]``, object with ``additionalProperties`` ↔ ``[String: T]``, a nested
  model ↔ the struct of that name, a string enum ↔ a ``String`` raw-value enum with exactly the
  same raw values.
"""

from __future__ import annotations

from typing import Any

from tests.ios_harness.swift_codable import EnumCase, SwiftModule, SwiftStruct, SwiftType

Schema = dict[str, Any]

INTEGER_TYPES = frozenset({"Int", "Int64"})
SCALARS = {
    "number": frozenset({"Double"}),
    "string": frozenset({"String"}),
    "boolean": frozenset({"Bool"}),
    "integer": INTEGER_TYPES,
}


def check(schema: Schema, module: SwiftModule) -> list[str]:
    """Every mismatch between the model ``schema`` (root and ``$defs``) and the Swift module,
    one line each; an empty list means they agree."""
    checker = _Checker(schema, module)
    checker.check_object(schema.get("title", "<root>"), schema)
    return checker.problems


class _Checker:
    def __init__(self, schema: Schema, module: SwiftModule) -> None:
        self.defs: dict[str, Schema] = schema.get("$defs", {})
        self.module = module
        self.problems: list[str] = []
        self.seen: set[str] = set()

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def check_object(self, name: str, schema: Schema) -> None:
        if name in self.seen:
            return
        self.seen.add(name)
        struct = self.module.structs.get(name)
        if struct is None:
            self.fail(name, "no Swift struct with this name")
            return
        if "Codable" not in struct.conformances:
            self.fail(name, "the Swift struct is not Codable")
        if struct.coding_keys is None:
            self.fail(name, "the Swift struct has no explicit CodingKeys enum")
        properties: dict[str, Schema] = schema.get("properties", {})
        required = set(schema.get("required", ()))
        by_key = {struct.json_key(p): p for p in struct.properties}
        for key in sorted(set(properties) - set(by_key)):
            self.fail(f"{name}.{key}", "in the pydantic model but not in Swift")
        for key in sorted(set(by_key) - set(properties)):
            self.fail(f"{name}.{key}", "in Swift but not in the pydantic model")
        if struct.coding_keys is not None:
            names = {p.name for p in struct.properties}
            for case in sorted(set(struct.coding_keys) - names):
                self.fail(f"{name}.{case}", "a CodingKeys case with no stored property")
        for key in sorted(set(properties) & set(by_key)):
            self.check_property(struct, key, properties[key], key in required)

    def check_property(self, struct: SwiftStruct, key: str, schema: Schema, required: bool) -> None:
        where = f"{struct.name}.{key}"
        prop = next(p for p in struct.properties if struct.json_key(p) == key)
        if prop.has_initial_value:
            self.fail(where, "has an initial value, so Codable would never decode it")
        base, nullable = _split_nullable(schema)
        swift = prop.type
        optional = swift.kind == "optional"
        if nullable and required:
            self.fail(where, "required but nullable: Swift would omit the key for nil")
        if nullable != optional:
            wanted = "Optional" if nullable else "non-optional"
            self.fail(where, f"Swift type {swift} should be {wanted} (nullable={nullable})")
        inner = swift.element if optional and swift.element is not None else swift
        self.check_type(where, base, inner)
        if not required and not nullable:
            self.check_default(struct, prop.name, where, schema.get("default"), base)

    def check_default(
        self, struct: SwiftStruct, prop_name: str, where: str, default: Any, base: Schema
    ) -> None:
        decoder = struct.custom_decoder
        call = decoder.get(prop_name) if decoder is not None else None
        if call is None or not call.if_present or call.default is None:
            self.fail(
                where,
                f"has a default ({default!r}) in pydantic: decode it with "
                f"decodeIfPresent(...) ?? {default!r} in init(from:)",
            )
            return
        value = call.default.value
        if isinstance(value, EnumCase):
            enum = self.module.enums.get(_resolve(base, self.defs).get("title", ""))
            value = enum.raw_values.get(value.name) if enum else value
        if not _same_default(value, default):
            self.fail(where, f"Swift decodes a missing key as {value!r}, pydantic as {default!r}")

    def check_type(self, where: str, schema: Schema, swift: SwiftType) -> None:
        ref = schema.get("$ref")
        if ref is not None:
            name = ref.rsplit("/", 1)[-1]
            target = self.defs.get(name, {})
            if "enum" in target:
                self.check_enum(where, target, swift)
                return
            if swift.kind != "named" or swift.name != name:
                self.fail(where, f"Swift type {swift} should be the struct {name}")
                return
            self.check_object(name, target)
            return
        if "enum" in schema:
            self.check_enum(where, schema, swift)
            return
        kind = schema.get("type")
        if kind in SCALARS:
            if swift.kind != "named" or swift.name not in SCALARS[kind]:
                allowed = " or ".join(sorted(SCALARS[kind]))
                self.fail(where, f"Swift type {swift} should be {allowed} for JSON {kind}")
            return
        if kind == "array":
            if "prefixItems" in schema or "items" not in schema:
                self.fail(where, "fixed-length tuples have no Swift Codable counterpart here")
                return
            if swift.kind != "array" or swift.element is None:
                self.fail(where, f"Swift type {swift} should be an array")
                return
            self.check_type(f"{where}[]", schema["items"], swift.element)
            return
        if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
            if swift.kind != "dict" or swift.key is None or swift.element is None:
                self.fail(where, f"Swift type {swift} should be [String: T]")
                return
            if swift.key.name != "String":
                self.fail(where, "dictionary keys must be String to encode as a JSON object")
            self.check_type(f"{where}{{}}", schema["additionalProperties"], swift.element)
            return
        self.fail(where, f"schema {schema} has no Swift mapping in this checker")

    def check_enum(self, where: str, schema: Schema, swift: SwiftType) -> None:
        if swift.kind != "named" or swift.name not in self.module.enums:
            self.fail(where, f"Swift type {swift} should be a String enum")
            return
        enum = self.module.enums[swift.name]
        if "String" not in enum.conformances or "Codable" not in enum.conformances:
            self.fail(where, f"enum {enum.name} should be `String, Codable`")
        wanted = {str(v) for v in schema["enum"]}
        have = set(enum.raw_values.values())
        if wanted != have:
            missing = sorted(wanted - have)
            extra = sorted(have - wanted)
            self.fail(
                where, f"enum {enum.name} raw values differ: missing {missing}, extra {extra}"
            )


def _split_nullable(schema: Schema) -> tuple[Schema, bool]:
    """The non-null part of ``anyOf: [X, {type: null}]`` and whether null was allowed."""
    options = schema.get("anyOf")
    if not options:
        return schema, False
    rest = [o for o in options if o.get("type") != "null"]
    nullable = len(rest) != len(options)
    if len(rest) != 1:
        return {"unsupported anyOf": options}, nullable
    return rest[0], nullable


def _resolve(schema: Schema, defs: dict[str, Schema]) -> Schema:
    ref = schema.get("$ref")
    return defs.get(ref.rsplit("/", 1)[-1], {}) if ref else schema


def _same_default(swift_value: object, default: Any) -> bool:
    if isinstance(default, bool) or isinstance(swift_value, bool):
        return type(default) is type(swift_value) and default == swift_value
    if isinstance(default, list | tuple):
        return isinstance(swift_value, list) and list(default) == swift_value
    return bool(swift_value == default)
