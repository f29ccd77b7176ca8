"""Read the Codable declarations of the harness Swift sources with the real Swift grammar.

The conformance test compares what this module extracts with the JSON Schema of the pydantic
wire models. It understands the subset of Swift the protocol files use on purpose: structs and
enums at the top level (or nested), stored properties with a type annotation, a ``CodingKeys``
enum, ``String`` raw-value enums, and a hand-written ``init(from:)`` whose ``decodeIfPresent``
calls supply defaults with ``??``. Anything outside that subset is reported, not guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import tree_sitter_swift
from tree_sitter import Language, Node, Parser

SWIFT = Language(tree_sitter_swift.language())


def parser() -> Parser:
    return Parser(SWIFT)


def parse(source: bytes) -> Node:
    return parser().parse(source).root_node


def error_nodes(root: Node) -> list[Node]:
    """Every ERROR or MISSING node under ``root``: places the grammar could not parse."""
    found: list[Node] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            found.append(node)
        elif node.has_error:
            stack.extend(node.children)
    return found


@dataclass(frozen=True)
class SwiftType:
    """A Swift type annotation: ``named`` (``Int``, ``HarnessTensor``), ``array``, ``dict``
    (``[String: T]``) or ``optional`` wrapping ``element``."""

    kind: str
    name: str = ""
    element: SwiftType | None = None
    key: SwiftType | None = None

    def __str__(self) -> str:
        if self.kind == "optional":
            return f"{self.element}?"
        if self.kind == "array":
            return f"[{self.element}]"
        if self.kind == "dict":
            return f"[{self.key}: {self.element}]"
        return self.name


@dataclass(frozen=True)
class Literal:
    """A literal default on the right of ``??`` in ``init(from:)``, as a Python value.

    Enum-case defaults (``.cpu``) are kept as ``EnumCase`` so the checker can map them to raw
    values once it knows the property's type."""

    value: object


@dataclass(frozen=True)
class EnumCase:
    name: str


@dataclass
class SwiftProperty:
    name: str
    type: SwiftType
    has_initial_value: bool
    line: int


@dataclass
class DecodeCall:
    """One ``container.decode(...)`` / ``decodeIfPresent(...)`` in ``init(from:)``."""

    key: str
    if_present: bool
    default: Literal | None


@dataclass
class SwiftStruct:
    name: str
    conformances: set[str]
    properties: list[SwiftProperty] = field(default_factory=list)
    coding_keys: dict[str, str] | None = None
    """Case name → JSON key, from the nested ``CodingKeys`` enum; None when there is none."""
    custom_decoder: dict[str, DecodeCall] | None = None
    """Coding key case → its decode call, from a hand-written ``init(from:)``."""
    file: str = ""

    def json_key(self, prop: SwiftProperty) -> str:
        if self.coding_keys is None:
            return prop.name
        return self.coding_keys.get(prop.name, prop.name)


@dataclass
class SwiftEnum:
    name: str
    conformances: set[str]
    raw_values: dict[str, str] = field(default_factory=dict)
    """Case name → raw value (the case name itself unless ``= "..."`` says otherwise)."""
    file: str = ""


@dataclass
class SwiftModule:
    """The structs and enums of a set of Swift files, by name."""

    structs: dict[str, SwiftStruct] = field(default_factory=dict)
    enums: dict[str, SwiftEnum] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @classmethod
    def from_files(cls, paths: Iterable[Path]) -> SwiftModule:
        module = cls()
        for path in paths:
            module.add_source(path.read_bytes(), str(path))
        return module

    @classmethod
    def from_text(cls, text: str, name: str = "<snippet>") -> SwiftModule:
        module = cls()
        module.add_source(text.encode(), name)
        return module

    def add_source(self, source: bytes, name: str) -> None:
        root = parse(source)
        for bad in error_nodes(root):
            self.problems.append(f"{name}:{bad.start_point[0] + 1}: does not parse")
        for decl in _declarations(root):
            self._add_declaration(decl, name)

    def _add_declaration(self, decl: Node, file: str) -> None:
        kind = _declaration_kind(decl)
        if kind not in ("struct", "enum"):
            return
        name_node = _first_child(decl, "type_identifier")
        if name_node is None:
            return
        name = _text(name_node)
        conformances = {
            _text(spec).split(".")[-1]
            for spec in decl.children
            if spec.type == "inheritance_specifier"
        }
        body = _first_child(decl, "class_body") or _first_child(decl, "enum_class_body")
        if kind == "enum":
            self.enums[name] = SwiftEnum(name, conformances, _enum_raw_values(body), file)
            return
        struct = SwiftStruct(name, conformances, file=file)
        for member in body.children if body is not None else ():
            if member.type == "property_declaration":
                prop = _stored_property(member)
                if prop is not None:
                    struct.properties.append(prop)
            elif member.type == "class_declaration":
                nested_name = _first_child(member, "type_identifier")
                if nested_name is not None and _text(nested_name) == "CodingKeys":
                    enum_body = _first_child(member, "enum_class_body")
                    struct.coding_keys = _enum_raw_values(enum_body)
                else:
                    self._add_declaration(member, file)
            elif member.type == "init_declaration" and _is_init_from_decoder(member):
                struct.custom_decoder = _decode_calls(member)
        self.structs[name] = struct


def _declarations(root: Node) -> Iterator[Node]:
    for child in root.children:
        if child.type == "class_declaration":
            yield child


def _declaration_kind(decl: Node) -> str:
    for child in decl.children:
        if child.type in ("struct", "enum", "class", "extension", "actor"):
            return child.type
    return ""


def _first_child(node: Node, type_: str) -> Node | None:
    for child in node.children:
        if child.type == type_:
            return child
    return None


def _text(node: Node) -> str:
    return (node.text or b"").decode()


def _walk(node: Node) -> Iterator[Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def _stored_property(decl: Node) -> SwiftProperty | None:
    """A stored instance property, or None for static/computed ones (not part of Codable)."""
    modifiers = _first_child(decl, "modifiers")
    if modifiers is not None and any(_text(m) in ("static", "class") for m in modifiers.children):
        return None
    if _first_child(decl, "computed_property") is not None:
        return None
    pattern = _first_child(decl, "pattern")
    annotation = _first_child(decl, "type_annotation")
    if pattern is None:
        return None
    name = _text(pattern).strip("`")
    if annotation is None:
        return SwiftProperty(name, SwiftType("named", "<inferred>"), True, decl.start_point[0] + 1)
    type_node = next(c for c in annotation.children if c.type != ":")
    has_initial_value = any(c.type == "=" for c in decl.children)
    return SwiftProperty(name, _swift_type(type_node), has_initial_value, decl.start_point[0] + 1)


def _swift_type(node: Node) -> SwiftType:
    if node.type == "optional_type":
        inner = next(c for c in node.children if c.type != "?")
        return SwiftType("optional", element=_swift_type(inner))
    if node.type == "array_type":
        inner = next(c for c in node.children if c.type not in ("[", "]"))
        return SwiftType("array", element=_swift_type(inner))
    if node.type == "dictionary_type":
        parts = [c for c in node.children if c.type not in ("[", "]", ":")]
        return SwiftType("dict", key=_swift_type(parts[0]), element=_swift_type(parts[1]))
    if node.type == "user_type":
        name = _text(node).removeprefix("Swift.")
        if name.startswith("Optional<") and name.endswith(">"):
            return SwiftType("optional", element=SwiftType("named", name[9:-1]))
        return SwiftType("named", name)
    return SwiftType("named", f"<{node.type}: {_text(node)}>")


def _enum_raw_values(body: Node | None) -> dict[str, str]:
    """Case name → raw value for every ``case`` of an enum body, in source order."""
    values: dict[str, str] = {}
    if body is None:
        return values
    for entry in body.children:
        if entry.type != "enum_entry":
            continue
        pending: str | None = None
        for child in entry.children:
            if child.type == "simple_identifier":
                if pending is not None:
                    values[pending] = pending
                pending = _text(child).strip("`")
            elif child.type == "line_string_literal" and pending is not None:
                values[pending] = _string_literal(child)
                pending = None
            elif child.type == "enum_type_parameters" and pending is not None:
                values[pending] = f"<associated values: {_text(child)}>"
                pending = None
        if pending is not None:
            values[pending] = pending
    return values


def _string_literal(node: Node) -> str:
    return "".join(_text(c) for c in node.children if c.type == "line_str_text")


def _is_init_from_decoder(init: Node) -> bool:
    params = [c for c in init.children if c.type == "parameter"]
    if len(params) != 1:
        return False
    labels = [_text(c) for c in params[0].children if c.type == "simple_identifier"]
    return bool(labels) and labels[0] == "from"


def _decode_calls(init: Node) -> dict[str, DecodeCall]:
    """Every ``decode``/``decodeIfPresent`` call in ``init(from:)`` with its ``forKey`` and,
    when the call sits on the left of ``??``, the literal on the right."""
    calls: dict[str, DecodeCall] = {}
    for node in _walk(init):
        if node.type != "call_expression":
            continue
        callee = node.children[0]
        if callee.type != "navigation_expression":
            continue
        suffix = _first_child(callee, "navigation_suffix")
        method = _text(suffix).lstrip(".") if suffix is not None else ""
        if method not in ("decode", "decodeIfPresent"):
            continue
        key = _for_key_argument(node)
        if key is None:
            continue
        calls[key] = DecodeCall(key, method == "decodeIfPresent", _nil_coalescing_default(node))
    return calls


def _for_key_argument(call: Node) -> str | None:
    for node in _walk(call):
        if node.type != "value_argument":
            continue
        label = _first_child(node, "value_argument_label")
        if label is not None and _text(label) == "forKey":
            value = node.children[-1]
            return _text(value).lstrip(".")
    return None


def _nil_coalescing_default(call: Node) -> Literal | None:
    node = call
    parent = node.parent
    while parent is not None and parent.type == "try_expression":
        node, parent = parent, parent.parent
    if parent is None or parent.type != "nil_coalescing_expression":
        return None
    if parent.children[0].id != node.id:
        return None
    rhs = parent.children[-1]
    return Literal(_literal_value(rhs))


def _literal_value(node: Node) -> object:
    text = _text(node)
    if node.type == "boolean_literal":
        return text == "true"
    if node.type == "integer_literal":
        return int(text.replace("_", ""), 0)
    if node.type == "real_literal":
        return float(text.replace("_", ""))
    if node.type == "line_string_literal":
        return _string_literal(node)
    if node.type == "array_literal" and text.replace(" ", "") == "[]":
        return []
    if node.type == "prefix_expression" and text.startswith("."):
        return EnumCase(text[1:])
    return f"<expression: {text}>"
