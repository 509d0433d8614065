'use strict';

// lifesign for Node.js: process heartbeats through the lifesign C library.
// See README.md. The module-level functions use the default backend (koffi,
// or $LIFESIGN_NODE_BACKEND); load() picks one explicitly.

const { createApi, ENV_BACKEND, DEFAULT_BACKEND } = require('./lib/api');
const { LifesignError } = require('./lib/errors');
const { constants } = require('./lib/abi');
const { ENV_LIB } = require('./lib/locate');

const loaded = new Map();

function load(options) {
  const o = options || {};
  const backend = o.backend || process.env[ENV_BACKEND] || DEFAULT_BACKEND;
  const key = `${backend}\0${o.libPath || ''}`;
  let api = loaded.get(key);
  if (!api) {
    api = createApi({ backend, libPath: o.libPath });
    loaded.set(key, api);
  }
  return api;
}

const api = () => load();

module.exports = {
  load,
  start: (path, options) => api().start(path, options),
  startFromEnv: () => api().startFromEnv(),
  check: (path, options) => api().check(path, options),
  judge: (record, facts, options) => api().judge(record, facts, options),
  isAlive: (path, maxAgeMs) => api().isAlive(path, maxAgeMs),
  waitReady: (path, options) => api().waitReady(path, options),
  version: () => api().version(),
  onLog: (listener, options) => api().onLog(listener, options),
  constants,
  LifesignError,
  ENV_BACKEND,
  ENV_LIB,
};
// For TypeScript and bundlers that compile `import lifesign from 'lifesign'` to `.default`.
module.exports.default = module.exports;
