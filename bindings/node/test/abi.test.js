'use strict';

// The generated table (lib/abi.js) in use: each backend's struct layout
// against the C compiler's, every function bound, and the struct codec.
// That the table matches lifesign.h is `make test-bindings` (bindgen.py --check).

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const abi = require('../lib/abi');
const { makeCodec, readU64, readI64 } = require('../lib/codec');
const { api, ROOT, tempDir, lifesign, BACKEND } = require('./helpers');

test('the table is generated from lifesign.h and says so', () => {
  const text = fs.readFileSync(path.join(__dirname, '..', 'lib', 'abi.js'), 'utf8');
  assert.match(text.split('\n')[0], /^\/\/ Generated from include\/lifesign\.h by `make bindings`.*do not edit\.$/);
  assert.ok(Object.keys(abi.functions).length >= 20);
  assert.ok(Object.isFrozen(abi.structs.lifesign_report[0].type));
});

// index.d.ts derives the Verdict, State and Shape string types from the
// constant names (LIFESIGN_VERDICT_PID_MISMATCH -> 'pid_mismatch') and
// ErrorCode from the LIFESIGN_ERR_* names: the library must name them so.
test('the library names every code as its constant name says', () => {
  const families = [
    ['LIFESIGN_VERDICT_', (c) => api.verdictName(c), (s) => s.toLowerCase()],
    ['LIFESIGN_STATE_', (c) => api.stateName(c), (s) => s.toLowerCase()],
    ['LIFESIGN_SHAPE_', (c) => api.shapeName(c), (s) => s.toLowerCase()],
    ['LIFESIGN_ERR_', (c) => api.errorName(c), (s) => `LIFESIGN_ERR_${s}`],
  ];
  for (const [prefix, nameOf, expected] of families) {
    const codes = Object.entries(abi.constants).filter(([n]) => n.startsWith(prefix));
    assert.ok(codes.length > 1, prefix);
    for (const [n, code] of codes) assert.equal(nameOf(code), expected(n.slice(prefix.length)), n);
  }
});

// sizeof/offsetof of every struct member as the C compiler lays them out.
function compilerLayout(t) {
  const dir = tempDir(t);
  const lines = ['#include <stdio.h>', '#include <stddef.h>', '#include "lifesign.h"', 'int main(void) {', 'printf("{");'];
  const structs = Object.entries(abi.structs);
  structs.forEach(([name, members], i) => {
    lines.push(`printf("\\"${name}\\": {\\"(sizeof)\\": %zu", sizeof(${name}));`);
    for (const { name: field } of members) {
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
    for (const { name: field } of members) {
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
  const names = Object.keys(abi.functions);
  assert.deepEqual(Object.keys(b.fn).sort(), [...names].sort());
  for (const n of names) assert.equal(typeof b.fn[n], 'function', n);
  assert.equal(typeof b.fn.lifesign_wait_ready.async, 'function');
  assert.equal(typeof b.fn.lifesign_wait_ready_cancel.async, 'function');
});
