'use strict';

// The library's log messages, delivered to a JS listener on the main thread
// (see README.md, "Logging"). The log settings are process-wide per library
// file, so they are kept here per file, whichever backend loaded it.

const path = require('node:path');
const { Worker } = require('node:worker_threads');
const { constants: C } = require('./abi');
const { argumentError } = require('./errors');

const LEVELS = {
  off: C.LIFESIGN_LOG_OFF,
  warn: C.LIFESIGN_LOG_WARN,
  info: C.LIFESIGN_LOG_INFO,
  debug: C.LIFESIGN_LOG_DEBUG,
};
const NAMES = Object.fromEntries(Object.entries(LEVELS).map(([name, code]) => [code, name]));

const routes = new Map(); // library file -> route

// A route: the listener, and the worker relaying messages while one is set.
// fn is a backend's function table (for synchronous calls on this thread).
function route(libPath, fn) {
  let r = routes.get(libPath);
  if (r) return r;
  let worker = null;
  let ready = null; // Promise of the started worker
  let listener = null;
  let level = C.LIFESIGN_LOG_WARN;
  let nextId = 1;
  const pending = new Map(); // request id -> { resolve, reject }
  let queue = Promise.resolve(); // one change at a time, in call order

  function fail(err) {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  }

  function startWorker() {
    worker = new Worker(path.join(__dirname, 'log-worker.js'), { workerData: { libPath } });
    worker.unref();
    ready = new Promise((resolve, reject) => {
      worker.on('message', (m) => {
        if (m.record) {
          if (listener) listener({ level: NAMES[m.record.level] || 'warn', message: m.record.message });
        } else if (m.ready) {
          resolve();
        } else {
          const p = pending.get(m.id);
          pending.delete(m.id);
          if (pending.size === 0) worker.unref();
          if (m.error || m.rc !== C.LIFESIGN_OK) p.reject(new Error(m.error || `lifesign_set_log_handler returned ${m.rc}`));
          else p.resolve();
        }
      });
      worker.on('error', (err) => {
        reject(err);
        fail(err);
      });
      worker.on('exit', (code) => {
        const err = new Error(`the lifesign log worker exited (code ${code})`);
        reject(err);
        fail(err);
        worker = null;
        ready = null;
      });
    });
    return ready;
  }

  function request(code) {
    return new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      worker.ref(); // the caller awaits the answer: keep the process alive
      worker.postMessage({ id, level: code });
    });
  }

  // Back to the library's own output (stderr), or silence; synchronous, so
  // that it also works in an 'exit' handler. A message being handled waits
  // only for the worker's loop, never for this thread.
  function toLibrary(code) {
    const rc = fn.lifesign_set_log_handler(null, null, code);
    if (rc !== C.LIFESIGN_OK) throw new Error(`lifesign_set_log_handler returned ${rc}`);
    if (worker) {
      const w = worker;
      worker = null;
      ready = null;
      w.removeAllListeners('exit');
      w.terminate();
    }
  }

  async function apply(newListener, code) {
    if (newListener === null || code === C.LIFESIGN_LOG_OFF) {
      listener = null;
      level = code;
      toLibrary(code);
      return;
    }
    if (!worker) await startWorker();
    else await ready;
    await request(code);
    listener = newListener;
    level = code;
  }

  r = {
    set(newListener, code) {
      const p = queue.then(() => apply(newListener, code));
      queue = p.catch(() => {});
      return p;
    },
  };
  process.on('exit', () => {
    // The worker ends with the process: the library must not call into it.
    if (worker) toLibrary(level);
  });
  routes.set(libPath, r);
  return r;
}


// onLog(listener, { level }) for one library: see index.d.ts.
function makeOnLog(libPath, fn) {
  return function onLog(listener, options) {
    try {
      if (listener !== null && typeof listener !== 'function') {
        throw argumentError('the log listener must be a function or null');
      }
      const o = options === undefined || options === null ? {} : options;
      if (typeof o !== 'object') throw argumentError('options must be an object');
      const name = o.level === undefined ? 'warn' : o.level;
      if (!Object.prototype.hasOwnProperty.call(LEVELS, name)) {
        throw argumentError(`unknown log level ${JSON.stringify(name)}; use one of ${Object.keys(LEVELS).join(', ')}`);
      }
      return route(libPath, fn).set(listener, LEVELS[name]);
    } catch (err) {
      return Promise.reject(err);
    }
  };
}

module.exports = { makeOnLog, LEVELS };
