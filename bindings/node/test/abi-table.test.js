'use strict';

// The one table of C declarations (lib/abi.js) against the header, and the
// struct layouts each backend builds from it against the C compiler's.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const abi = require('../lib/abi');
const { squash, parseDecl, parsePrototype, parseCallback } = require('../lib/cdecl');
const { makeCodec, readU64, readI64 } = require('../lib/codec');
const { api, HEADER, ROOT, tempDir, lifesign, BACKEND } = require('./helpers');

function normalise(text) {
  return squash(text)
    .replace(/\bstruct\s+/g, '')
    .replace(/\s*\*\s*/g, ' *')
    .replace(/\s*([(),\[\]])\s*/g, '$1')
    .replace(/;$/, '')
    .trim();
}

// Reads the declarations out of lifesign.h (hand-written or cbindgen-made).
function readHeader() {
  const raw = fs.readFileSync(HEADER, 'utf8');
  const constants = {};
  for (const m of raw.matchAll(/^\s*#\s*define\s+(LIFESIGN_\w+)\s+\(?\s*(-?\d+)\s*\)?\s*(?:\/\*.*)?$/gm)) {
    if (!m[1].startsWith('LIFESIGN_VERSION_')) constants[m[1]] = Number(m[2]);
  }
  let text = raw
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/\/\/.*$/gm, ' ')
    .replace(/^\s*#.*$/gm, ' ')
    .replace(/extern\s+"C"\s*\{/g, ' ');
  const structs = {};
  text = text.replace(/(?:typedef\s+)?struct\s+(\w+)\s*\{([^}]*)\}\s*(\w+)?\s*;/g, (_, name, body) => {
    structs[name] = body.split(';').map((s) => normalise(s)).filter(Boolean);
    return ' ';
  });
  const opaque = [];
  text = text.replace(/typedef\s+struct\s+(\w+)\s+(\w+)\s*;/g, (_, name) => {
    opaque.push(name);
    return ' ';
  });
  const callbacks = [];
  text = text.replace(/typedef\s+[^;]*\(\s*\*\s*\w+\s*\)\s*\([^;]*\)\s*;/g, (m) => {
    callbacks.push(normalise(m.replace(/^typedef\s+/, '')));
    return ' ';
  });
  const functions = text
    .split(';')
    .map((s) => s.replace(/[{}]/g, ' '))
    .filter((s) => s.includes('('))
    .map((s) => normalise(s));
  return { constants, structs, opaque, callbacks, functions };
}

test('the table lists every function of lifesign.h with the same prototype, and no other', () => {
  const header = readHeader();
  assert.ok(header.functions.length >= 20, `parsed only ${header.functions.length} functions from the header`);
  assert.deepEqual([...abi.functions].map(normalise).sort(), [...header.functions].sort());
});

test('the table has the structs of lifesign.h member for member', () => {
  const header = readHeader();
  assert.deepEqual(Object.keys(abi.structs).sort(), Object.keys(header.structs).sort());
  for (const [name, members] of Object.entries(abi.structs)) {
    assert.deepEqual(members.map(normalise), header.structs[name], name);
  }
});

test('the table has the opaque types, callback typedefs and constants of lifesign.h', () => {
  const header = readHeader();
  assert.deepEqual([...abi.opaque].sort(), [...header.opaque].sort());
  assert.deepEqual(abi.callbacks.map(normalise), header.callbacks);
  assert.deepEqual({ ...abi.constants }, header.constants);
});

test('every declaration of the table parses into types, names and array lengths', () => {
  const p = parsePrototype(abi.functions.find((f) => f.includes('lifesign_check_stall')));
  assert.equal(p.name, 'lifesign_check_stall');
  assert.deepEqual(p.ret, { isConst: false, base: 'int32_t', pointers: 0 });
  assert.deepEqual(
    p.params.map((d) => [d.isConst, d.base, d.pointers, d.name]),
    [
      [true, 'char', 1, 'path'],
      [false, 'uint64_t', 0, 'max_age_ms'],
      [false, 'int64_t', 0, 'expected_pid'],
      [false, 'uint64_t', 0, 'stall_ms'],
      [false, 'lifesign_report', 1, 'out'],
    ]
  );
  assert.deepEqual(parsePrototype('const char *lifesign_version(void)').params, []);
  assert.deepEqual(parseDecl('char message[256]'), { isConst: false, base: 'char', pointers: 0, name: 'message', length: 256 });
  assert.equal(parseDecl('lifesign_emitter **out').pointers, 2);
  const cb = parseCallback(abi.callbacks[0]);
  assert.equal(cb.name, 'lifesign_error_fn');
  assert.equal(cb.params.length, 3);
  assert.throws(() => parsePrototype('int32_t (broken'), /cannot parse/);
  for (const f of abi.functions) assert.ok(parsePrototype(f).name.startsWith('lifesign_'));
});

// sizeof/offsetof of every struct member as the C compiler lays them out.
function compilerLayout(t) {
  const dir = tempDir(t);
  const lines = ['#include <stdio.h>', '#include <stddef.h>', '#include "lifesign.h"', 'int main(void) {', 'printf("{");'];
  const structs = Object.entries(abi.structs);
  structs.forEach(([name, members], i) => {
    lines.push(`printf("\\"${name}\\": {\\"(sizeof)\\": %zu", sizeof(${name}));`);
    for (const m of members) {
      const field = parseDecl(m).name;
      lines.push(`printf(", \\"${field}\\": %zu", offsetof(${name}, ${field}));`);
    }
    lines.push(`printf("}${i + 1 < structs.length ? ', ' : ''}");`);
  });
  lines.push('printf("}\\n");', 'return 0;', '}');
  const src = path.join(dir, 'layout.c');
  const exe = path.join(dir, 'layout');
  fs.writeFileSync(src, lines.join('\n'));
  execFileSync(process.env.CC || 'cc', ['-I', path.join(ROOT, 'include'), '-o', exe, src], { stdio: 'inherit' });
  return JSON.parse(execFileSync(exe, { encoding: 'utf8' }));
}

test(`the ${BACKEND} backend lays out every struct as the C compiler does`, (t) => {
  const expected = compilerLayout(t);
  for (const [name, members] of Object.entries(abi.structs)) {
    assert.equal(api.layout.sizeOf(name), expected[name]["(sizeof)"], `sizeof(${name})`);
    for (const m of members) {
      const field = parseDecl(m).name;
      assert.equal(api.layout.offsetOf(name, field), expected[name][field], `offsetof(${name}, ${field})`);
    }
  }
});

test('lifesign_options_init fills in the struct size that this backend allocates', () => {
  const b = require(`../lib/backend-${BACKEND}`).create();
  const codec = makeCodec('lifesign_options', b);
  const buf = codec.alloc();
  b.fn.lifesign_options_init(buf);
  const o = codec.decode(buf);
  assert.equal(o.size, buf.length);
  assert.equal(o.size, api.layout.sizeOf('lifesign_options'));
  assert.equal(o.interval_ms, 1000);
  assert.equal(o.mode, 0o644);
  assert.equal(o.notify_fd, -1);
});

test('the struct codec reads 64-bit integers exactly up to 2^53 and both signs', () => {
  const b = require(`../lib/backend-${BACKEND}`).create();
  const codec = makeCodec('lifesign_report', b);
  const buf = codec.alloc();
  const values = { pid: -7, seq: Number.MAX_SAFE_INTEGER, progress: 2 ** 32 + 5, updated_at_ms: 1795457267234, state: -1 };
  codec.encode(buf, values);
  buf.write('naïve\0junk', b.offsetOf('lifesign_report', 'message'));
  const o = codec.decode(buf);
  for (const [k, v] of Object.entries(values)) assert.equal(o[k], v, k);
  assert.equal(o.message, 'naïve');
  assert.equal(readI64(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), 0), -1);
  assert.equal(readU64(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), 0), 2 ** 64);
});

test('the backend in use is the one selected by LIFESIGN_NODE_BACKEND', () => {
  assert.equal(api.backend, process.env.LIFESIGN_NODE_BACKEND || 'koffi');
  assert.equal(lifesign.load().backend, api.backend);
});

test(`the ${BACKEND} backend binds every function of the table`, () => {
  const b = require(`../lib/backend-${BACKEND}`).create();
  const names = abi.functions.map((f) => parsePrototype(f).name);
  assert.deepEqual(Object.keys(b.fn).sort(), [...names].sort());
  for (const n of names) assert.equal(typeof b.fn[n], 'function', n);
  assert.equal(typeof b.fn.lifesign_wait_ready.async, 'function');
  assert.equal(typeof b.fn.lifesign_wait_ready_cancel.async, 'function');
});
