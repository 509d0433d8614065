import test from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

import lifesign, { start, check, isAlive, waitReady, startFromEnv, version, load, constants } from '../index.mjs';

const require = createRequire(import.meta.url);

test('the ES module entry exports the same functions as the CommonJS entry', () => {
  const cjs = require('../index.js');
  assert.equal(lifesign, cjs);
  for (const [name, f] of Object.entries({ start, check, isAlive, waitReady, startFromEnv, version, load })) {
    assert.equal(typeof f, 'function', name);
    assert.equal(f, cjs[name], name);
  }
  assert.equal(constants.LIFESIGN_ERR_TIMEOUT, -5);
});

test('the ES module entry works end to end', async () => {
  assert.match(version(), /^\d+\.\d+\.\d+/);
  const r = check('/nonexistent/lifesign-esm.json');
  assert.equal(r.verdict, 'missing');
  assert.equal(isAlive('/nonexistent/lifesign-esm.json'), false);
});

test('the CommonJS entry also answers to .default, for compiled default imports', () => {
  const cjs = require('../index.js');
  assert.equal(cjs.default, cjs);
});
