#!/usr/bin/env python3
"""Generates the bindings' C declaration tables from include/lifesign.h.

The header (made by cbindgen from capi/src/lib.rs) is the one description of the
C ABI. This script reads it with pycparser, after `gcc -E` with small
stand-ins for the standard headers, and writes:

  bindings/python/src/lifesign/_bindings.py  ctypes: constants, structs,
                                             callback types, prototypes
  bindings/node/lib/abi.js                   the table both Node backends
                                             and the struct codec read
  bindings/node/lib/abi.d.ts                 its TypeScript declarations,
                                             constants as literal types

It understands what cbindgen emits for C: object-like #define integer and
string constants (any constant expression), enums (tagged, typedef'd, or
cbindgen's `enum X {...}; typedef int32_t X;`), structs with scalar,
pointer, callback and fixed-array members, opaque structs, scalar typedefs,
function-pointer typedefs and function prototypes. Anything else is an
error naming the declaration, so nothing is dropped silently.

Usage: bindgen.py [--check | --self-test] [--header PATH] [--root DIR]
  (no option)  rewrite the three files
  --check      regenerate into a temporary folder and fail, showing the
               difference, when a committed file is stale
  --self-test  the generator's own tests (test_bindgen.py, on
               testdata/sample.h: what cbindgen may emit beyond lifesign.h)
"""

from __future__ import annotations

import argparse
import difflib
import operator
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from pycparser import c_ast, c_parser

COMMAND = "make bindings"
HEADER = "include/lifesign.h"
OUTPUTS = {
    "python": "bindings/python/src/lifesign/_bindings.py",
    "js": "bindings/node/lib/abi.js",
    "dts": "bindings/node/lib/abi.d.ts",
}
STAMP = "Generated from %s by `%s` (bindings/gen/bindgen.py); do not edit." % (HEADER, COMMAND)

# The standard headers a cbindgen header includes, reduced to what the
# declarations use, so that no system header has to be parsed. The names
# are recognised as scalars below whatever they are defined as here.
STD_HEADERS = {
    "stdint.h": """
typedef signed char int8_t; typedef unsigned char uint8_t;
typedef short int16_t; typedef unsigned short uint16_t;
typedef int int32_t; typedef unsigned int uint32_t;
typedef long int64_t; typedef unsigned long uint64_t;
typedef long intptr_t; typedef unsigned long uintptr_t;
#define INT8_C(c) c
#define UINT8_C(c) c
#define INT16_C(c) c
#define UINT16_C(c) c
#define INT32_C(c) c
#define UINT32_C(c) c ## U
#define INT64_C(c) c ## L
#define UINT64_C(c) c ## UL
#define INT8_MIN (-128)
#define INT8_MAX 127
#define UINT8_MAX 255
#define INT16_MIN (-32767-1)
#define INT16_MAX 32767
#define UINT16_MAX 65535
#define INT32_MIN (-2147483647-1)
#define INT32_MAX 2147483647
#define UINT32_MAX 4294967295U
#define INT64_MIN (-9223372036854775807L-1)
#define INT64_MAX 9223372036854775807L
#define UINT64_MAX 18446744073709551615UL
""",
    "stddef.h": "typedef unsigned long size_t; typedef long ptrdiff_t;\n#define NULL ((void *)0)\n",
    "stdbool.h": "#define bool _Bool\n#define true 1\n#define false 0\n",
    "stdarg.h": "",
    "stdlib.h": "typedef unsigned long size_t;\n",
    "sys/types.h": "typedef long ssize_t;\n",
}

# Compiler extensions a header may carry, defined away before parsing.
CPP_DEFINES = [
    "-D__attribute__(x)=",
    "-D__declspec(x)=",
    "-D__extension__=",
    "-D__restrict=",
    "-D__restrict__=",
    "-D__inline__=",
    "-D_Static_assert(x,y)=",
    "-Dstatic_assert(x,y)=",
]

# C scalar spellings -> (canonical name, bits, signed). Canonical names are
# the ones the tables use.
SCALARS: Dict[str, Tuple[str, int, bool]] = {
    "void": ("void", 0, False),
    "char": ("char", 8, True),
    "signed char": ("int8_t", 8, True),
    "unsigned char": ("uint8_t", 8, False),
    "_Bool": ("bool", 8, False),
    "bool": ("bool", 8, False),
    "int8_t": ("int8_t", 8, True),
    "uint8_t": ("uint8_t", 8, False),
    "int16_t": ("int16_t", 16, True),
    "uint16_t": ("uint16_t", 16, False),
    "int32_t": ("int32_t", 32, True),
    "uint32_t": ("uint32_t", 32, False),
    "int64_t": ("int64_t", 64, True),
    "uint64_t": ("uint64_t", 64, False),
    "int": ("int", 32, True),
    "signed int": ("int", 32, True),
    "signed": ("int", 32, True),
    "unsigned int": ("unsigned int", 32, False),
    "unsigned": ("unsigned int", 32, False),
    "size_t": ("size_t", 64, False),
    "ssize_t": ("ssize_t", 64, True),
    "ptrdiff_t": ("ptrdiff_t", 64, True),
    "intptr_t": ("intptr_t", 64, True),
    "uintptr_t": ("uintptr_t", 64, False),
    "float": ("float", 0, True),
    "double": ("double", 0, True),
}

CTYPES = {
    "char": "ctypes.c_char",
    "bool": "ctypes.c_bool",
    "int8_t": "ctypes.c_int8",
    "uint8_t": "ctypes.c_uint8",
    "int16_t": "ctypes.c_int16",
    "uint16_t": "ctypes.c_uint16",
    "int32_t": "ctypes.c_int32",
    "uint32_t": "ctypes.c_uint32",
    "int64_t": "ctypes.c_int64",
    "uint64_t": "ctypes.c_uint64",
    "int": "ctypes.c_int",
    "unsigned int": "ctypes.c_uint",
    "size_t": "ctypes.c_size_t",
    "ssize_t": "ctypes.c_ssize_t",
    "ptrdiff_t": "ctypes.c_ssize_t",
    "intptr_t": "ctypes.c_ssize_t",
    "uintptr_t": "ctypes.c_size_t",
    "float": "ctypes.c_float",
    "double": "ctypes.c_double",
}


class Unsupported(Exception):
    """A declaration the tables cannot express."""


class NotConstant(Exception):
    """A macro or enumerator value that is not an integer or string constant."""


# --- types ---------------------------------------------------------------


class CType:
    """A C type as the tables describe it: a base (a scalar, a struct, an
    opaque struct or a function-pointer typedef), a pointer depth, whether
    the base is const, and the length of a fixed array."""

    def __init__(self, kind: str, name: str, pointers: int = 0, const: bool = False,
                 length: Optional[int] = None) -> None:
        self.kind = kind
        self.name = name
        self.pointers = pointers
        self.const = const
        self.length = length

    def pointer(self) -> "CType":
        return CType(self.kind, self.name, self.pointers + 1, self.const, self.length)

    def spelling(self, declarator: str = "") -> str:
        """The C spelling, e.g. `const char *path` or `char message[256]`."""
        text = ("const " if self.const else "") + self.name
        if self.pointers:
            text += " " + "*" * self.pointers + declarator
        elif declarator:
            text += " " + declarator
        if self.length is not None:
            text += "[%d]" % self.length
        return text


class Header:
    """The declarations of the header, in its order."""

    def __init__(self) -> None:
        self.constants: List[Tuple[str, object]] = []
        self.not_bound: List[str] = []
        self.enums: List[Tuple[str, List[Tuple[str, int]]]] = []
        self.opaque: List[str] = []
        self.structs: List[Tuple[str, List[Tuple[str, CType]]]] = []
        self.callbacks: List[Tuple[str, CType, List[Tuple[Optional[str], CType]]]] = []
        self.functions: List[Tuple[str, CType, List[Tuple[Optional[str], CType]]]] = []


# --- constant expressions --------------------------------------------------

INT_LITERAL = re.compile(r"^(0[xX][0-9a-fA-F]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)([uUlL]*)$")


def wrap(value: int, bits: int, signed: bool) -> int:
    value &= (1 << bits) - 1
    if signed and value >= 1 << (bits - 1):
        value -= 1 << bits
    return value


def unescape(body: str) -> str:
    out = []
    i = 0
    simple = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"', "'": "'", "a": "\a",
              "b": "\b", "f": "\f", "v": "\v", "?": "?"}
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt == "x":
            m = re.match(r"[0-9a-fA-F]+", body[i + 2:])
            if not m:
                raise NotConstant("bad escape")
            out.append(chr(int(m.group(0), 16)))
            i += 2 + len(m.group(0))
        elif nxt in "01234567":
            m = re.match(r"[0-7]{1,3}", body[i + 1:])
            assert m
            out.append(chr(int(m.group(0), 8)))
            i += 1 + len(m.group(0))
        elif nxt in simple:
            out.append(simple[nxt])
            i += 2
        else:
            raise NotConstant("unknown escape \\%s" % nxt)
    return "".join(out)


COMPARISONS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, ">": operator.gt,
               "<=": operator.le, ">=": operator.ge}


class Evaluator:
    """Folds a C constant expression; integers carry their C type (bits,
    signedness) so that `~0u`, shifts and casts give what a C compiler
    gives."""

    def __init__(self, scalar_of) -> None:
        self.scalar_of = scalar_of
        self.names: Dict[str, Tuple[int, int, bool]] = {}

    def value(self, node: c_ast.Node) -> object:
        if isinstance(node, c_ast.Constant) and node.type == "string":
            return unescape(node.value[1:-1])
        return self.integer(node)[0]

    def integer(self, node: c_ast.Node) -> Tuple[int, int, bool]:
        if isinstance(node, c_ast.Constant):
            if node.type == "char":
                body = unescape(node.value[1:-1])
                if len(body) != 1:
                    raise NotConstant(node.value)
                return ord(body), 32, True
            m = INT_LITERAL.match(node.value)
            if not m:
                raise NotConstant(node.value)
            digits, suffix = m.group(1), m.group(2).lower()
            if digits[:2].lower() == "0b":
                v = int(digits[2:], 2)
            elif digits[:2].lower() == "0x":
                v = int(digits, 16)
            elif len(digits) > 1 and digits[0] == "0":
                v = int(digits, 8)
            else:
                v = int(digits)
            unsigned = "u" in suffix
            bits = 64 if "l" in suffix else 32
            if bits == 32 and v >= (1 << 32 if unsigned else 1 << 31):
                if unsigned or digits[0] == "0":
                    unsigned = unsigned or v >= 1 << 31
                bits = 64 if v >= 1 << 31 else 32
            if not unsigned and v >= 1 << (bits - 1):
                unsigned = digits[0] == "0"
            return v, bits, not unsigned
        if isinstance(node, c_ast.ID):
            if node.name in self.names:
                return self.names[node.name]
            raise NotConstant(node.name)
        if isinstance(node, c_ast.Cast):
            name, bits, signed = self.scalar_of(node.to_type)
            if bits == 0 or name == "void":
                raise NotConstant("cast to %s" % name)
            v = self.integer(node.expr)[0]
            if name == "bool":
                return int(v != 0), 32, True
            return wrap(v, bits, signed), max(bits, 32), signed or bits < 32
        if isinstance(node, c_ast.UnaryOp):
            if node.op == "sizeof":
                raise NotConstant("sizeof")
            v, bits, signed = self.integer(node.expr)
            if node.op == "+":
                return v, bits, signed
            if node.op == "-":
                return wrap(-v, bits, signed), bits, signed
            if node.op == "~":
                return wrap(~v, bits, signed), bits, signed
            if node.op == "!":
                return int(v == 0), 32, True
            raise NotConstant(node.op)
        if isinstance(node, c_ast.TernaryOp):
            cond = self.integer(node.cond)[0]
            return self.integer(node.iftrue if cond else node.iffalse)
        if isinstance(node, c_ast.BinaryOp):
            a, abits, asigned = self.integer(node.left)
            b, bbits, bsigned = self.integer(node.right)
            op = node.op
            if op in ("&&", "||"):
                return int(bool(a) and bool(b) if op == "&&" else bool(a) or bool(b)), 32, True
            if op in ("<<", ">>"):
                bits, signed = abits, asigned
                v = a << b if op == "<<" else a >> b
                return wrap(v, bits, signed), bits, signed
            # The usual arithmetic conversions.
            bits = max(abits, bbits)
            signed = (asigned or abits < bits) and (bsigned or bbits < bits)
            a, b = wrap(a, bits, signed), wrap(b, bits, signed)
            if op in COMPARISONS:
                return int(COMPARISONS[op](a, b)), 32, True
            if op in ("/", "%"):
                if b == 0:
                    raise NotConstant("division by zero")
                q = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)
                v = q if op == "/" else a - q * b
            elif op == "+":
                v = a + b
            elif op == "-":
                v = a - b
            elif op == "*":
                v = a * b
            elif op == "&":
                v = a & b
            elif op == "|":
                v = a | b
            elif op == "^":
                v = a ^ b
            else:
                raise NotConstant(op)
            return wrap(v, bits, signed), bits, signed
        raise NotConstant(type(node).__name__)


# --- reading the header ----------------------------------------------------

DEFINE = re.compile(r"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_][A-Za-z0-9_]*)(\(?)(.*)$")


def scan_defines(text: str) -> List[Tuple[str, bool]]:
    """The macros the header defines, in order: (name, is an object-like
    macro with a value)."""
    text = text.replace("\\\n", " ")
    found = []
    for line in text.splitlines():
        m = DEFINE.match(line)
        if m:
            body = re.sub(r"/\*.*?\*/|//.*$", " ", m.group(3)).strip()
            found.append((m.group(1), m.group(2) == "" and body != ""))
    return found


def preprocess(header: Path, probes: List[str]) -> Tuple[str, List[str]]:
    """`gcc -E` of the header followed by one probe line per macro; returns
    the header's text and each probe's expansion ('' when undefined)."""
    with tempfile.TemporaryDirectory(prefix="lifesign-bindgen-") as tmp:
        inc = Path(tmp, "include")
        for name, body in STD_HEADERS.items():
            p = inc / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text("#pragma once\n" + body)
        src = Path(tmp, "probe.c")
        lines = ['#include "%s"' % header.resolve()]
        for i, name in enumerate(probes):
            lines += ["#ifdef %s" % name, "lifesign_bindgen_probe_%d %s" % (i, name), "#endif"]
        src.write_text("\n".join(lines) + "\n")
        cpp = os.environ.get("CPP_FOR_BINDGEN") or shutil.which("gcc") or "cc"
        run = subprocess.run(
            [cpp, "-E", "-P", "-std=c11", "-nostdinc", "-isystem", str(inc)] + CPP_DEFINES + [str(src)],
            capture_output=True, text=True,
        )
        if run.returncode != 0:
            raise Unsupported("%s -E failed:\n%s" % (cpp, run.stderr))
        out = run.stdout
    values = [""] * len(probes)
    body = []
    for line in out.splitlines():
        m = re.match(r"^\s*lifesign_bindgen_probe_(\d+)\b(.*)$", line)
        if m:
            values[int(m.group(1))] = m.group(2).strip()
        else:
            body.append(line)
    return "\n".join(body) + "\n", values


def read_header(path: Path) -> Header:
    defines = scan_defines(path.read_text())
    names = [n for n, has_value in defines if has_value]
    text, expansions = preprocess(path, names)
    parser = c_parser.CParser()
    ast = parser.parse(text, str(path))
    out = Header()
    out.not_bound = [n for n, has_value in defines if not has_value and n != guard_name(defines)]

    # Pass 1: what each name is.
    typedef_nodes: Dict[str, c_ast.Node] = {}
    struct_bodies: Dict[str, c_ast.Struct] = {}  # tag -> definition
    tag_names: Dict[str, str] = {}  # struct tag -> the name the tables use
    std_typedefs = set()
    for ext in ast.ext:
        if isinstance(ext, c_ast.Typedef):
            if ext.name in SCALARS:
                std_typedefs.add(ext.name)
                continue
            typedef_nodes[ext.name] = ext.type
            inner = ext.type.type if isinstance(ext.type, c_ast.TypeDecl) else None
            if isinstance(inner, (c_ast.Struct, c_ast.Enum)) and not inner.name:
                inner.name = ext.name  # `typedef struct { ... } NAME;` (cbindgen's style = "type")
            if isinstance(inner, c_ast.Struct) and inner.name:
                tag_names.setdefault(inner.name, ext.name)
                if inner.decls is not None:
                    struct_bodies[inner.name] = inner
        elif isinstance(ext, c_ast.Decl) and isinstance(ext.type, c_ast.Struct) and ext.type.decls is not None:
            struct_bodies[ext.type.name] = ext.type
            tag_names.setdefault(ext.type.name, ext.type.name)

    def scalar_of(node: c_ast.Node) -> Tuple[str, int, bool]:
        t = convert(node)
        if t.kind != "scalar" or t.pointers or t.length is not None:
            raise NotConstant("cast to a non-scalar")
        return SCALARS[t.name]

    ev = Evaluator(scalar_of)

    def convert(node: c_ast.Node, where: str = "") -> CType:
        if isinstance(node, c_ast.Typename):
            return convert(node.type, where)
        if isinstance(node, c_ast.PtrDecl):
            if isinstance(node.type, c_ast.FuncDecl):
                # A function pointer written out where it is used (cbindgen
                # does so for an Option<extern "C" fn> without a type alias):
                # a callback type named after its place, e.g. lifesign_x_handler.
                name = re.sub(r"\W+", "_", where).strip("_")
                fn = node.type
                if name not in {n for n, _, _ in out.callbacks}:
                    out.callbacks.append((name, convert(fn.type, name), params(fn, name)))
                return CType("callback", name)
            return convert(node.type, where).pointer()
        if isinstance(node, c_ast.ArrayDecl):
            elem = convert(node.type, where)
            if elem.length is not None:
                raise Unsupported("%s: a multi-dimensional array" % where)
            if node.dim is None:
                raise Unsupported("%s: an array without a length" % where)
            elem.length = ev.integer(node.dim)[0]
            return elem
        if isinstance(node, c_ast.TypeDecl):
            t = convert(node.type, where)
            if "const" in node.quals:
                t.const = True
            return t
        if isinstance(node, c_ast.IdentifierType):
            spelled = " ".join(node.names)
            if spelled in SCALARS:
                return CType("scalar", SCALARS[spelled][0])
            if spelled in typedef_nodes:
                target = typedef_nodes[spelled]
                inner = target.type if isinstance(target, c_ast.TypeDecl) else None
                if isinstance(target, c_ast.PtrDecl) and isinstance(target.type, c_ast.FuncDecl):
                    return CType("callback", spelled)
                if isinstance(inner, c_ast.Struct):
                    return convert(target, where)
                t = convert(target, where)  # a scalar (or enum) typedef: resolved
                return t
            raise Unsupported("%s: unknown type %s" % (where, spelled))
        if isinstance(node, c_ast.Struct):
            name = tag_names.get(node.name, node.name)
            return CType("struct" if node.name in struct_bodies else "opaque", name)
        if isinstance(node, c_ast.Enum):
            return CType("scalar", "int")
        if isinstance(node, c_ast.Union):
            raise Unsupported("%s: a union" % where)
        raise Unsupported("%s: %s" % (where, type(node).__name__))

    def params(fn: c_ast.FuncDecl, where: str) -> List[Tuple[Optional[str], CType]]:
        result = []
        for i, p in enumerate(fn.args.params if fn.args else []):
            if isinstance(p, c_ast.EllipsisParam):
                raise Unsupported("%s: a variadic function" % where)
            here = "%s(%s)" % (where, p.name or "arg%d" % i)
            if isinstance(p.type, c_ast.ArrayDecl):  # an array parameter is a pointer
                t = convert(p.type.type, here).pointer()
            else:
                t = convert(p.type, here)
            if t.kind == "scalar" and t.name == "void" and not t.pointers:
                continue  # (void)
            result.append((p.name, t))
        return result

    def add_enum(name: str, enum: c_ast.Enum) -> None:
        members = []
        nxt = 0
        for e in enum.values.enumerators if enum.values else []:
            v = ev.integer(e.value) if e.value is not None else (nxt, 32, True)
            ev.names[e.name] = (v[0], 32, True)
            members.append((e.name, v[0]))
            out.constants.append((e.name, v[0]))
            nxt = v[0] + 1
        out.enums.append((name, members))

    statics: List[Tuple[str, object]] = []
    emitted_structs = set()
    # Pass 2: the declarations, in order.
    for ext in ast.ext:
        if isinstance(ext, c_ast.Typedef):
            if ext.name in std_typedefs:
                continue
            t = ext.type
            inner = t.type if isinstance(t, c_ast.TypeDecl) else None
            if isinstance(inner, c_ast.Struct):
                if inner.name in struct_bodies or inner.decls is not None:
                    tag = inner.name or ext.name
                    if inner.decls is not None and tag not in emitted_structs:
                        emitted_structs.add(tag)
                        out.structs.append((ext.name, members_of(inner, ext.name, convert)))
                else:
                    out.opaque.append(ext.name)
            elif isinstance(inner, c_ast.Enum):
                if inner.values is not None:
                    add_enum(ext.name, inner)
            elif isinstance(t, c_ast.PtrDecl) and isinstance(t.type, c_ast.FuncDecl):
                fn = t.type
                out.callbacks.append((ext.name, convert(fn.type, ext.name), params(fn, ext.name)))
            else:
                convert(t, ext.name)  # a scalar alias: checked, then resolved where used
        elif isinstance(ext, c_ast.Decl):
            if isinstance(ext.type, c_ast.FuncDecl):
                fn = ext.type
                out.functions.append((ext.name, convert(fn.type, ext.name), params(fn, ext.name)))
            elif isinstance(ext.type, c_ast.Struct) and ext.name is None:
                s = ext.type
                if s.decls is not None and s.name not in emitted_structs:
                    emitted_structs.add(s.name)
                    out.structs.append((tag_names[s.name], members_of(s, s.name, convert)))
            elif isinstance(ext.type, c_ast.Enum) and ext.name is None:
                if ext.type.values is not None:
                    add_enum(ext.type.name or "", ext.type)
            elif isinstance(ext.type, c_ast.TypeDecl) and "const" in ext.quals and ext.init is not None:
                # `static const int32_t NAME = VALUE;` (cbindgen's allow_static_const)
                try:
                    statics.append((ext.name, ev.value(ext.init)))
                except NotConstant:
                    raise Unsupported("%s: a constant that is not an integer or a string" % ext.name) from None
            else:
                raise Unsupported("%s: a variable declaration" % ext.name)
        else:
            raise Unsupported("%s" % type(ext).__name__)

    # The macros last, but listed first and in the header's order.
    macros: List[Tuple[str, object]] = []
    for name, expansion in zip(names, expansions):
        if name == guard_name(defines):
            continue
        try:
            if not expansion:
                raise NotConstant("empty")
            expr = parser.parse(text + "\nint lifesign_bindgen_value = (%s);\n" % expansion, "probe").ext[-1].init
            macros.append((name, ev.value(expr)))
        except (NotConstant, c_parser.ParseError, Unsupported):
            out.not_bound.append(name)
    out.constants = macros + statics + out.constants
    return out


def guard_name(defines: List[Tuple[str, bool]]) -> Optional[str]:
    """The include guard: the first macro, defined empty."""
    return defines[0][0] if defines and not defines[0][1] else None


def members_of(s: c_ast.Struct, where: str, convert) -> List[Tuple[str, CType]]:
    members = []
    for d in s.decls:
        if not d.name:
            raise Unsupported("%s: an anonymous member" % where)
        if d.bitsize is not None:
            raise Unsupported("%s.%s: a bit-field" % (where, d.name))
        members.append((d.name, convert(d.type, "%s.%s" % (where, d.name))))
    return members


# --- Python ----------------------------------------------------------------


def py_type(t: CType, ret: bool = False) -> str:
    if t.length is not None:
        elem = CType(t.kind, t.name, t.pointers, t.const)
        return "%s * %d" % (py_type(elem), t.length)
    if t.pointers == 0:
        if t.kind == "scalar":
            if t.name == "void":
                if ret:
                    return "None"
                raise Unsupported("void value")
            return CTYPES[t.name]
        if t.kind == "opaque":
            raise Unsupported("%s by value" % t.name)
        return t.name
    if t.pointers == 1:
        if t.kind == "scalar" and t.name == "char":
            return "ctypes.c_char_p"
        if (t.kind == "scalar" and t.name == "void") or t.kind == "opaque":
            return "ctypes.c_void_p"
    inner = CType(t.kind, t.name, t.pointers - 1, t.const)
    return "ctypes.POINTER(%s)" % py_type(inner)


def py_repr(v: object) -> str:
    if isinstance(v, str):
        return '"%s"' % v.replace("\\", "\\\\").replace('"', '\\"').encode("unicode_escape").decode("ascii")
    return repr(v)


def write_python(h: Header) -> str:
    o = ["# " + STAMP, '"""The C declarations of include/lifesign.h for ctypes.', "",
         "Constants keep their C names. Opaque handles are void pointers. PROTOTYPES",
         "maps every function to its (restype, argtypes).", '"""', "", "import ctypes", ""]
    o.append("# Constants: #define integers and strings, static consts, then enum values.")
    for name, value in h.constants:
        o.append("%s = %s" % (name, py_repr(value)))
    if h.not_bound:
        o += ["", "# Macros that are not integer or string constants, not bound: %s" % ", ".join(h.not_bound)]
    if h.enums:
        o += ["", "# C enums: name -> {enumerator: value}.", "ENUMS = {"]
        for name, members in h.enums:
            o.append("    %s: {%s}," % (py_repr(name), ", ".join("%s: %d" % (py_repr(m), v) for m, v in members)))
        o.append("}")
    o += ["", "# Opaque types, passed as void pointers.",
          "OPAQUE = (%s)" % (", ".join(py_repr(n) for n in h.opaque) + ("," if len(h.opaque) == 1 else ""))]
    for name, _ in h.structs:
        o += ["", "", "class %s(ctypes.Structure):" % name, "    pass"]
    o.append("")
    for name, ret, ps in h.callbacks:
        o += ["", "%s = ctypes.CFUNCTYPE(%s)" % (name, ", ".join([py_type(ret, ret=True)] + [py_type(t) for _, t in ps]))]
    for name, members in h.structs:
        o += ["", "%s._fields_ = [" % name]
        o += ['    ("%s", %s),  # %s' % (m, py_type(t), t.spelling(m)) for m, t in members]
        o.append("]")
    o += ["", "# name: (restype, argtypes)", "PROTOTYPES = {"]
    for name, ret, ps in h.functions:
        o.append('    "%s": (%s, [%s]),' % (name, py_type(ret, ret=True), ", ".join(py_type(t) for _, t in ps)))
    o.append("}")
    return "\n".join(o) + "\n"


# --- Node ------------------------------------------------------------------


def js_str(s: str) -> str:
    return "'%s'" % s.replace("\\", "\\\\").replace("'", "\\'").encode("unicode_escape").decode("ascii")


def js_value(v: object) -> str:
    return js_str(v) if isinstance(v, str) else str(v)


def js_type(t: CType) -> str:
    return "{ kind: %s, name: %s, pointers: %d, const: %s, length: %s }" % (
        js_str(t.kind), js_str(t.name), t.pointers, "true" if t.const else "false",
        "null" if t.length is None else str(t.length))


class JsTypes:
    """Each distinct type once, in `const t`, keyed by its C spelling."""

    def __init__(self) -> None:
        self.types: Dict[str, CType] = {}

    def ref(self, t: CType) -> str:
        key = t.spelling()
        self.types.setdefault(key, t)
        return "t[%s]" % js_str(key)

    def fn(self, ret: CType, ps: List[Tuple[Optional[str], CType]], indent: str) -> List[str]:
        o = ["%sresult: %s," % (indent, self.ref(ret)), "%sparams: [" % indent]
        for n, t in ps:
            o.append("%s  { name: %s, type: %s }," % (indent, "null" if n is None else js_str(n), self.ref(t)))
        o.append("%s]," % indent)
        return o


def write_js(h: Header) -> str:
    o = ["// " + STAMP, "'use strict';", "",
         "// The C declarations of include/lifesign.h as data, read by both FFI",
         "// backends (lib/backend-koffi.js, lib/backend-ffi-napi.js) and the struct",
         "// codec (lib/codec.js). A type is { kind, name, pointers, const, length }:",
         "// kind 'scalar' (name a C scalar: 'int32_t', 'char', 'void', ...), 'struct',",
         "// 'opaque' or 'callback' (name the C type name); pointers the number of '*';",
         "// const whether the base type is const; length the element count of a",
         "// fixed array, else null.", ""]
    o.append("// #define integers, static consts and enum values, as in the header.")
    o.append("const constants = {")
    o += ["  %s: %s," % (n, v) for n, v in h.constants if not isinstance(v, str)]
    o += ["};", "", "// #define strings.", "const strings = {"]
    o += ["  %s: %s," % (n, js_str(v)) for n, v in h.constants if isinstance(v, str)]
    o += ["};", ""]
    if h.not_bound:
        o += ["// Macros that are not integer or string constants, not bound: %s" % ", ".join(h.not_bound), ""]
    o += ["// C enums: name -> { enumerator: value }.", "const enums = {"]
    for name, members in h.enums:
        o.append("  %s: { %s }," % (name, ", ".join("%s: %d" % (m, v) for m, v in members)))
    o += ["};", "", "const opaque = [%s];" % ", ".join(js_str(n) for n in h.opaque), ""]
    tt = JsTypes()
    decls = ["// Function-pointer typedefs.", "const callbacks = {"]
    for name, ret, ps in h.callbacks:
        decls.append("  %s: {" % name)
        decls += tt.fn(ret, ps, "    ")
        decls.append("  },")
    decls += ["};", "", "// Struct members in order.", "const structs = {"]
    for name, members in h.structs:
        decls.append("  %s: [" % name)
        decls += ["    { name: %s, type: %s }," % (js_str(m), tt.ref(t)) for m, t in members]
        decls.append("  ],")
    decls += ["};", "", "// Every exported function.", "const functions = {"]
    for name, ret, ps in h.functions:
        decls.append("  %s: {" % name)
        decls += tt.fn(ret, ps, "    ")
        decls.append("  },")
    o += ["// Every type used below, by its C spelling.", "const t = {"]
    o += ["  %s: %s," % (js_str(k), js_type(v)) for k, v in tt.types.items()]
    o += ["};", ""] + decls
    o += ["};", "",
          "function deepFreeze(o) {",
          "  if (o !== null && typeof o === 'object') {",
          "    Object.values(o).forEach(deepFreeze);",
          "    Object.freeze(o);",
          "  }",
          "  return o;",
          "}", "",
          "module.exports = deepFreeze({ constants, strings, enums, opaque, callbacks, structs, functions });"]
    return "\n".join(o) + "\n"


def ts_union(names: List[str]) -> str:
    return " | ".join(js_str(n) for n in names) if names else "never"


def write_dts(h: Header) -> str:
    o = ["// " + STAMP, "// The declarations of lib/abi.js.", "",
         "/** A C type: see lib/abi.js. */",
         "export interface CType {",
         "  readonly kind: 'scalar' | 'struct' | 'opaque' | 'callback';",
         "  readonly name: string;",
         "  readonly pointers: number;",
         "  readonly const: boolean;",
         "  readonly length: number | null;",
         "}",
         "export interface CMember {",
         "  readonly name: string | null;",
         "  readonly type: CType;",
         "}",
         "export interface CFunction {",
         "  readonly result: CType;",
         "  readonly params: readonly CMember[];",
         "}", "",
         "/** The #define integers, static consts and enum values of lifesign.h. */",
         "export declare const constants: {"]
    o += ["  readonly %s: %s;" % (n, v) for n, v in h.constants if not isinstance(v, str)]
    o += ["};", "/** The #define strings of lifesign.h. */", "export declare const strings: {"]
    o += ["  readonly %s: %s;" % (n, js_str(v)) for n, v in h.constants if isinstance(v, str)]
    o += ["};", "export declare const enums: {"]
    for name, members in h.enums:
        o.append("  readonly %s: { %s };" % (name, " ".join("readonly %s: %d;" % (m, v) for m, v in members)))
    o += ["};",
          "export type Constants = typeof constants;",
          "export type ConstantName = keyof Constants;",
          "export type OpaqueName = %s;" % ts_union(h.opaque),
          "export type StructName = %s;" % ts_union([n for n, _ in h.structs]),
          "export type CallbackName = %s;" % ts_union([n for n, _, _ in h.callbacks]),
          "export type FunctionName = %s;" % ts_union([n for n, _, _ in h.functions]),
          "export declare const opaque: readonly OpaqueName[];",
          "export declare const callbacks: { readonly [N in CallbackName]: CFunction };",
          "export declare const structs: { readonly [N in StructName]: readonly CMember[] };",
          "export declare const functions: { readonly [N in FunctionName]: CFunction };"]
    return "\n".join(o) + "\n"


# --- main ------------------------------------------------------------------


def generate(header: Path) -> Dict[str, str]:
    h = read_header(header)
    return {OUTPUTS["python"]: write_python(h), OUTPUTS["js"]: write_js(h), OUTPUTS["dts"]: write_dts(h)}


def main(argv: List[str]) -> int:
    root_default = Path(__file__).resolve().parent.parent.parent
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="fail when a committed table is stale")
    ap.add_argument("--root", type=Path, default=root_default, help="the repository (default: %(default)s)")
    ap.add_argument("--header", type=Path, help="the header (default: ROOT/%s)" % HEADER)
    ap.add_argument("--self-test", action="store_true", help="run the generator's own tests")
    args = ap.parse_args(argv)
    if args.self_test:
        import unittest

        here = str(Path(__file__).resolve().parent)
        suite = unittest.defaultTestLoader.discover(here, pattern="test_bindgen.py", top_level_dir=here)
        return 0 if unittest.TextTestRunner(verbosity=1).run(suite).wasSuccessful() else 1
    header = args.header or args.root / HEADER
    try:
        files = generate(header)
    except (Unsupported, c_parser.ParseError) as e:
        print("bindgen: %s: %s" % (header, e), file=sys.stderr)
        return 2
    if not args.check:
        for rel, text in files.items():
            path = args.root / rel
            if not path.is_file() or path.read_text() != text:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
                print("bindgen: wrote %s" % rel)
        return 0
    # Regenerate into a temporary folder and compare.
    stale = []
    with tempfile.TemporaryDirectory(prefix="lifesign-bindgen-check-") as tmp:
        for rel, text in files.items():
            fresh = Path(tmp, rel)
            fresh.parent.mkdir(parents=True, exist_ok=True)
            fresh.write_text(text)
            committed = args.root / rel
            old = committed.read_text() if committed.is_file() else ""
            if old != text:
                stale.append(rel)
                sys.stdout.writelines(difflib.unified_diff(
                    old.splitlines(True), text.splitlines(True), "a/" + rel, "b/" + rel))
    if stale:
        print("bindgen: stale, not generated from %s: %s; run `%s` and commit them"
              % (HEADER, ", ".join(stale), COMMAND), file=sys.stderr)
        return 1
    print("bindgen: %s up to date with %s" % (", ".join(files), HEADER))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
