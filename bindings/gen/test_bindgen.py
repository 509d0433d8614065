"""The generator's own tests: testdata/sample.h holds the shapes cbindgen
emits for C (enums, typedefs, fixed arrays, callbacks, opaque handles,
constant expressions); the generated ctypes must lay the structs out as
gcc does, and --check must catch a stale file."""

import ctypes
import importlib.util
import io
import os
import shutil
import subprocess
import tempfile
import unittest
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import bindgen

HERE = Path(__file__).resolve().parent
SAMPLE = HERE / "testdata" / "sample.h"


class Generated(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.tmp = Path(tempfile.mkdtemp(prefix="bindgen-test-"))
        cls.header = bindgen.read_header(SAMPLE)
        cls.files = bindgen.generate(SAMPLE)
        py = cls.tmp / "sample_bindings.py"
        py.write_text(cls.files[bindgen.OUTPUTS["python"]])
        spec = importlib.util.spec_from_file_location("sample_bindings", py)
        assert spec and spec.loader
        cls.mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(cls.mod)

    @classmethod
    def tearDownClass(cls) -> None:
        shutil.rmtree(cls.tmp)

    def test_constant_expressions_have_their_c_values(self) -> None:
        m = self.mod
        self.assertEqual(m.SAMPLE_VERSION_STRING, "1.2.3")
        self.assertEqual(m.SAMPLE_JOINED, "a\tbA")
        self.assertEqual(m.SAMPLE_ALL_BITS, 0xFFFFFFFF)
        self.assertEqual(m.SAMPLE_NEGATIVE, -7)
        self.assertEqual(m.SAMPLE_SHIFTED, 16)
        self.assertEqual(m.SAMPLE_OCTAL, 8)
        self.assertEqual(m.SAMPLE_HEX, 0x7FFFFFFF)
        self.assertEqual(m.SAMPLE_BIG, 2**64 - 1)
        self.assertEqual(m.SAMPLE_CHAR, 10)
        self.assertEqual(m.SAMPLE_SUM, 31)
        self.assertEqual(m.SAMPLE_STATIC_LIMIT, 1 << 20)

    def test_enumerators_count_on_from_the_last_value(self) -> None:
        self.assertEqual(self.mod.ENUMS["sample_level"], {"SAMPLE_LEVEL_ERROR": 1, "SAMPLE_LEVEL_WARN": 2,
                                                          "SAMPLE_LEVEL_INFO": 4})
        self.assertEqual(self.mod.SAMPLE_KIND_B, 1)

    def test_macros_that_are_not_constants_are_listed_not_bound(self) -> None:
        self.assertEqual(sorted(self.header.not_bound), ["SAMPLE_IDENTITY", "SAMPLE_INIT"])
        self.assertFalse(hasattr(self.mod, "SAMPLE_INIT"))
        self.assertFalse(hasattr(self.mod, "SAMPLE_H"))

    def test_typedefs_resolve_to_their_scalars_and_callbacks_keep_their_names(self) -> None:
        fns = {n: ps for n, _, ps in self.header.functions}
        handler, user_data, level = (t for _, t in fns["sample_set_log_handler"])
        self.assertEqual((handler.kind, handler.name), ("callback", "sample_log_fn"))
        self.assertEqual((user_data.kind, user_data.name, user_data.pointers), ("scalar", "void", 1))
        self.assertEqual((level.kind, level.name), ("scalar", "int32_t"))
        out = fns["sample_open"][2][1]
        self.assertEqual((out.kind, out.name, out.pointers), ("opaque", "sample_handle", 2))
        buf = fns["sample_describe"][1][1]
        self.assertEqual((buf.name, buf.pointers, buf.length), ("char", 1, None))
        m = self.mod
        self.assertEqual(m.PROTOTYPES["sample_open"],
                         (ctypes.c_int32, [ctypes.c_char_p, ctypes.c_uint32, ctypes.POINTER(ctypes.c_void_p)]))
        self.assertEqual(m.PROTOTYPES["sample_set_log_handler"][1][0], m.sample_log_fn)
        self.assertEqual(m.OPAQUE, ("sample_handle",))
        self.assertEqual(m.PROTOTYPES["sample_pair_of"], (m.sample_pair, [ctypes.POINTER(m.sample_pair)]))

    def test_function_pointers_without_a_typedef_are_named_after_their_place(self) -> None:
        m = self.mod
        self.assertEqual(m.PROTOTYPES["sample_on_exit"][1], [m.sample_on_exit_hook, ctypes.c_void_p])
        self.assertEqual(m.sample_on_exit_hook._argtypes_, (ctypes.c_void_p, ctypes.c_int32))
        self.assertEqual(dict(m.sample_report._fields_)["on_done"], m.sample_report_on_done)
        self.assertEqual(m.sample_report_fn._argtypes_, (ctypes.POINTER(m.sample_report), ctypes.c_void_p))

    def test_ctypes_structures_are_laid_out_as_gcc_does(self) -> None:
        structs = [(n, getattr(self.mod, n)) for n, _ in self.header.structs]
        self.assertEqual([n for n, _ in structs], ["sample_report", "sample_pair", "sample_node"])
        expected = []
        for _, cls in structs:
            expected.append(ctypes.sizeof(cls))
            expected += [getattr(cls, field).offset for field, *_ in cls._fields_]
        self.assertEqual(self.gcc_layout(), expected)

    def test_every_file_starts_with_the_do_not_edit_line(self) -> None:
        for rel, text in self.files.items():
            self.assertIn(bindgen.STAMP, text.splitlines()[0], rel)

    def test_node_table_loads_when_node_is_installed(self) -> None:
        node = shutil.which("node")
        if node is None:
            self.skipTest("node is not installed")
        js = self.tmp / "abi.js"
        js.write_text(self.files[bindgen.OUTPUTS["js"]])
        code = ("const a = require(%r); console.log(JSON.stringify([a.enums.sample_kind, "
                "a.functions.sample_set_log_handler.params[0].type.kind, Object.isFrozen(a.structs)]))" % str(js))
        out = subprocess.run([node, "-e", code], check=True, capture_output=True, text=True).stdout
        self.assertEqual(out.strip(), '[{"SAMPLE_KIND_A":0,"SAMPLE_KIND_B":1},"callback",true]')


    def test_koffi_lays_out_the_structs_as_gcc_does(self) -> None:
        node = shutil.which("node")
        koffi = HERE.parent / "node" / "node_modules" / "koffi"
        if node is None or not koffi.is_dir():
            self.skipTest("node or bindings/node/node_modules/koffi is missing (bindings/node/install-deps.sh)")
        lib = self.tmp / "koffi-lib"
        lib.mkdir()
        (lib / "abi.js").write_text(self.files[bindgen.OUTPUTS["js"]])
        for name in ("backend-koffi.js", "locate.js", "errors.js"):
            shutil.copy(HERE.parent / "node" / "lib" / name, lib / name)
        code = ("const koffi = require('koffi'); const t = require(%r).declareTypes();"
                "const abi = require(%r); const out = [];"
                "for (const [n, ms] of Object.entries(abi.structs)) {"
                "  out.push(koffi.sizeof(t.structs[n]));"
                "  for (const m of ms) out.push(koffi.offsetof(t.structs[n], m.name)); }"
                "console.log(out.join(' '));") % (str(lib / "backend-koffi.js"), str(lib / "abi.js"))
        env = dict(os.environ, NODE_PATH=str(koffi.parent))
        got = subprocess.run([node, "-e", code], check=True, capture_output=True, text=True, env=env).stdout.split()
        self.assertEqual([int(x) for x in got], self.gcc_layout())

    def gcc_layout(self) -> "list[int]":
        """sizeof and every offsetof of each struct, as gcc lays them out."""
        lines = ["#include <stddef.h>", "#include <stdio.h>", '#include "%s"' % SAMPLE, "int main(void) {"]
        for name, members in self.header.structs:
            ctype = "struct " + name if name == "sample_node" else name
            lines.append('printf("%%zu\\n", sizeof(%s));' % ctype)
            for field, _ in members:
                lines.append('printf("%%zu\\n", offsetof(%s, %s));' % (ctype, field))
        lines += ["return 0;", "}"]
        src = self.tmp / "layout.c"
        src.write_text("\n".join(lines) + "\n")
        exe = self.tmp / "layout"
        subprocess.run(["gcc", "-std=c11", "-Wall", "-Werror", str(src), "-o", str(exe)], check=True)
        return [int(x) for x in subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.split()]


class Check(unittest.TestCase):
    def test_check_fails_on_a_stale_file_and_passes_once_regenerated(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            args = ["--root", str(root), "--header", str(SAMPLE)]
            sink = io.StringIO()
            with redirect_stdout(sink), redirect_stderr(sink):
                self.assertEqual(bindgen.main(args), 0)
                self.assertEqual(bindgen.main(["--check"] + args), 0)
                js = root / bindgen.OUTPUTS["js"]
                js.write_text(js.read_text().replace("SAMPLE_KIND_B: 1", "SAMPLE_KIND_B: 2"))
                self.assertEqual(bindgen.main(["--check"] + args), 1)
                self.assertEqual(bindgen.main(args), 0)
                self.assertEqual(bindgen.main(["--check"] + args), 0)
            self.assertIn("-  sample_kind: { SAMPLE_KIND_A: 0, SAMPLE_KIND_B: 2 },", sink.getvalue())


if __name__ == "__main__":
    unittest.main()
