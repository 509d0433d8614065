'use strict';

// The package refuses a library of another ABI (major.minor) than the header
// lib/abi.js was generated from: a real one, liblifesign built with the next
// minor version (tests/abi/mismatched-lib.sh; run-tests.sh names it in
// LIFESIGN_TEST_MISMATCHED_LIB).

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('path');
const { execFileSync } = require('child_process');
const { constants } = require('../lib/abi');
const { api, BACKEND, childEnv } = require('./helpers');

const mismatched = process.env.LIFESIGN_TEST_MISMATCHED_LIB;

test(
  'a library of another minor is refused, naming both versions and its path',
  { skip: mismatched ? false : 'LIFESIGN_TEST_MISMATCHED_LIB is not set (run-tests.sh sets it)' },
  () => {
    const code = `
      try {
        require('.').load({ backend: ${JSON.stringify(BACKEND)} });
        console.log(JSON.stringify({ loaded: true }));
      } catch (err) {
        console.log(JSON.stringify({ code: err.code, message: err.message, version: err.libraryVersion }));
      }`;
    const out = JSON.parse(
      execFileSync(process.execPath, ['-e', code], {
        cwd: path.join(__dirname, '..'),
        env: childEnv({ LIFESIGN_LIB: mismatched }),
        encoding: 'utf8',
      })
    );
    const loaded = `${constants.LIFESIGN_VERSION_MAJOR}.${constants.LIFESIGN_VERSION_MINOR + 1}.0`;
    assert.equal(out.code, 'LIFESIGN_ERR_LIBRARY_VERSION', JSON.stringify(out));
    assert.equal(out.version, loaded);
    assert.match(out.message, new RegExp(`is lifesign ${loaded.replace(/\./g, '\\.')}`));
    assert.ok(out.message.includes(path.resolve(mismatched)), out.message);
    assert.ok(out.message.includes(`lifesign.h ${constants.LIFESIGN_VERSION_STRING}`), out.message);
  }
);

test('the library of the same minor is accepted', () => {
  const [major, minor] = api.version().split('.');
  assert.deepEqual([Number(major), Number(minor)], [constants.LIFESIGN_VERSION_MAJOR, constants.LIFESIGN_VERSION_MINOR]);
});
