'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('path');
const fs = require('fs');
const { execFileSync } = require('child_process');
const { platformKey, libcFamily, elfInterpreter } = require('../lib/locate');

const { lifesign, api, BACKEND, childEnv, tempDir } = require('./helpers');

function inChild(code, env) {
  return execFileSync(process.execPath, ['-e', code], {
    cwd: path.join(__dirname, '..'),
    env: childEnv(env),
    encoding: 'utf8',
  });
}

const REPORT_LOAD = `
  try {
    const api = require('.').load();
    console.log(JSON.stringify({ backend: api.backend, lib: api.libraryPath }));
  } catch (err) {
    console.log(JSON.stringify({ code: err.code, message: err.message }));
  }`;

test('load() caches one API per backend and library path', () => {
  assert.equal(lifesign.load({ backend: BACKEND }), api);
  assert.equal(lifesign.load({ backend: BACKEND, libPath: api.libraryPath }).backend, BACKEND);
});

test('load() refuses an unknown backend with LIFESIGN_ERR_INVALID_ARGUMENT', () => {
  assert.throws(() => lifesign.load({ backend: 'ctypes' }), (err) => {
    assert.equal(err.code, 'LIFESIGN_ERR_INVALID_ARGUMENT');
    assert.match(err.message, /koffi or ffi-napi/);
    return true;
  });
});

test('LIFESIGN_NODE_BACKEND selects the backend of the module-level functions', () => {
  for (const backend of ['koffi', 'ffi-napi']) {
    const out = JSON.parse(inChild(REPORT_LOAD, { LIFESIGN_NODE_BACKEND: backend }));
    assert.equal(out.backend, backend, JSON.stringify(out));
  }
});

test('LIFESIGN_LIB names the library to load', () => {
  const out = JSON.parse(inChild(REPORT_LOAD, { LIFESIGN_LIB: api.libraryPath }));
  assert.equal(out.lib, api.libraryPath);
});

test('a LIFESIGN_LIB that does not exist fails with an error that lists where it looked', (t) => {
  const missing = path.join(tempDir(t), 'liblifesign.so');
  const out = JSON.parse(inChild(REPORT_LOAD, { LIFESIGN_LIB: missing }));
  assert.equal(out.code, 'LIFESIGN_ERR_LIBRARY_NOT_FOUND');
  assert.ok(out.message.includes(missing), out.message);
  assert.match(out.message, /LIFESIGN_LIB/);
});

test('without LIFESIGN_LIB the repository build output is found', () => {
  const env = childEnv();
  delete env.LIFESIGN_LIB;
  const out = JSON.parse(
    execFileSync(process.execPath, ['-e', REPORT_LOAD], { cwd: path.join(__dirname, '..'), env, encoding: 'utf8' })
  );
  assert.equal(out.lib, path.resolve(__dirname, '..', '..', '..', 'target', 'release', 'liblifesign.so'));
});

test('an installed copy loads the library in its prebuilds folder, not a repository build', (t) => {
  // The layout of the npm package from `make dist`, outside the repository;
  // its dependencies resolve from this folder's node_modules.
  const pkg = path.join(tempDir(t), 'lifesign');
  fs.cpSync(path.join(__dirname, '..', 'lib'), path.join(pkg, 'lib'), { recursive: true });
  for (const f of ['index.js', 'package.json']) fs.copyFileSync(path.join(__dirname, '..', f), path.join(pkg, f));
  const bundled = path.join(pkg, 'prebuilds', platformKey(), 'liblifesign.so');
  fs.mkdirSync(path.dirname(bundled), { recursive: true });
  fs.copyFileSync(api.libraryPath, bundled);
  const env = childEnv({ NODE_PATH: path.join(__dirname, '..', 'node_modules') });
  delete env.LIFESIGN_LIB;
  const out = JSON.parse(
    execFileSync(process.execPath, ['-e', REPORT_LOAD.replace("require('.')", `require(${JSON.stringify(pkg)})`)], {
      cwd: pkg,
      env,
      encoding: 'utf8',
    })
  );
  assert.equal(out.lib, bundled, JSON.stringify(out));
});

test('a libPath that is not a library fails with LIFESIGN_ERR_LIBRARY_NOT_FOUND and the loader reason', () => {
  assert.throws(() => lifesign.load({ backend: BACKEND, libPath: __filename }), (err) => {
    assert.equal(err.code, 'LIFESIGN_ERR_LIBRARY_NOT_FOUND');
    assert.ok(err.message.includes(__filename));
    assert.equal(err.tried.length, 1);
    return true;
  });
});

test('the libc is read from the report, then the interpreter, then ldd, as detect-libc does', () => {
  const glibcReport = { header: { glibcVersionRuntime: '2.36' }, sharedObjects: ['/lib/x86_64-linux-gnu/libc.so.6'] };
  const muslReport = { header: {}, sharedObjects: ['/usr/bin/node', '/lib/ld-musl-aarch64.so.1'] };
  assert.equal(libcFamily({ report: glibcReport, interpreter: '/lib/ld-musl-x86_64.so.1' }), 'gnu');
  assert.equal(libcFamily({ report: muslReport, interpreter: null }), 'musl');
  assert.equal(libcFamily({ report: { header: {} }, interpreter: '/lib/ld-musl-x86_64.so.1' }), 'musl');
  assert.equal(libcFamily({ report: null, interpreter: '/lib/ld-linux-aarch64.so.1' }), 'gnu');
  assert.equal(libcFamily({ report: null, interpreter: null, ldd: '#!/bin/sh\nexec /lib/ld-musl-x86_64.so.1 --list "$@"\n' }), 'musl');
  assert.equal(libcFamily({ report: null, interpreter: null, ldd: null }), 'gnu');
});

test('the interpreter of this node agrees with its report, and files without one give null', (t) => {
  const interp = elfInterpreter(process.execPath);
  assert.ok(interp && interp.startsWith('/'), `no interpreter read from ${process.execPath}`);
  assert.ok(fs.existsSync(interp), `${interp} does not exist`);
  assert.equal(platformKey(), `linux-${process.arch}-${libcFamily({ report: null, interpreter: interp })}`);
  const dir = tempDir(t);
  const text = path.join(dir, 'script.sh');
  fs.writeFileSync(text, '#!/bin/sh\n');
  assert.equal(elfInterpreter(text), null);
  assert.equal(elfInterpreter(path.join(dir, 'missing')), null);
  // A shared library has no interpreter.
  assert.equal(elfInterpreter(api.libraryPath), null);
});
