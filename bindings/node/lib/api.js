'use strict';

// The public API, written once over the backend-neutral interface that
// backend-koffi.js and backend-ffi-napi.js both provide. Every rule about
// heartbeats lives in the C library; this file only converts arguments and
// results and turns return codes into exceptions.

const { constants: C } = require('./abi');
const { makeCodec, readU64 } = require('./codec');
const { makeOnLog } = require('./log');
const { LifesignError, argumentError } = require('./errors');

const BACKENDS = {
  koffi: () => require('./backend-koffi'),
  'ffi-napi': () => require('./backend-ffi-napi'),
};

const ENV_BACKEND = 'LIFESIGN_NODE_BACKEND';
const DEFAULT_BACKEND = 'koffi';

function checkInteger(name, value, min, max) {
  if (typeof value === 'bigint') value = Number(value);
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw argumentError(`${name} must be an integer between ${min} and ${max}, got ${String(value)}`);
  }
  return value;
}

const u32 = (name, v) => checkInteger(name, v, 0, 0xffffffff);
const u64 = (name, v) => checkInteger(name, v, 0, Number.MAX_SAFE_INTEGER);
const i64 = (name, v) => checkInteger(name, v, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);

function checkString(name, value) {
  if (typeof value !== 'string') throw argumentError(`${name} must be a string, got ${typeof value}`);
  return value;
}

function optionsObject(options) {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object') throw argumentError('options must be an object');
  return options;
}

function createApi(options = {}) {
  const backendName = options.backend || process.env[ENV_BACKEND] || DEFAULT_BACKEND;
  const make = BACKENDS[backendName];
  if (!make) {
    throw argumentError(
      `unknown lifesign backend "${backendName}" (from ${options.backend ? 'the backend option' : '$' + ENV_BACKEND}); ` +
        `choose ${Object.keys(BACKENDS).join(' or ')}`
    );
  }
  const b = make().create({ libPath: options.libPath });
  const fn = b.fn;
  require('./locate').checkLibraryVersion(fn.lifesign_version(), b.libPath);
  const reportCodec = makeCodec('lifesign_report', b);
  const optionsCodec = makeCodec('lifesign_options', b);
  const factsCodec = makeCodec('lifesign_facts', b);
  const checkBuffer = reportCodec.alloc();

  // Names come from the library (lifesign_*_name); cached per code.
  const nameCache = (f) => {
    const cache = new Map();
    return (code) => {
      let n = cache.get(code);
      if (n === undefined) {
        n = f(code);
        cache.set(code, n);
      }
      return n;
    };
  };
  const verdictName = nameCache((c) => fn.lifesign_verdict_name(c));
  const stateName = nameCache((c) => fn.lifesign_state_name(c));
  const shapeName = nameCache((c) => fn.lifesign_shape_name(c));
  const errorName = nameCache((c) => fn.lifesign_error_name(c));
  // The library's name of every LIFESIGN_STATE_* code, e.g. { ready: 1 }.
  const STATE_CODES = Object.fromEntries(
    Object.entries(C)
      .filter(([name]) => name.startsWith('LIFESIGN_STATE_'))
      .map(([, code]) => [stateName(code), code])
  );
  // What setState takes: every state but stopped, which stop() writes.
  const SETTABLE = Object.keys(STATE_CODES).filter((name) => name !== 'stopped');

  // Call right after the failing call, on the same thread: the message is
  // thread-local in the library.
  function failure(rc) {
    const message = fn.lifesign_last_error();
    const code = errorName(rc);
    return new LifesignError(message || code, { code, rc });
  }

  function toReport(r) {
    return {
      verdict: verdictName(r.verdict),
      state: r.state < 0 ? null : stateName(r.state),
      pid: r.pid,
      seq: r.seq,
      progress: r.progress,
      ageMs: r.age_ms,
      updatedAtMs: r.updated_at_ms,
      intervalMs: r.interval_ms,
      message: r.message,
      progressAtMs: r.progress_at_ms,
      progressAgeMs: r.progress_age_ms,
      maxAgeMs: r.max_age_ms,
      shape: shapeName(r.shape),
      detail: r.detail,
    };
  }

  function stateCode(state) {
    if (typeof state === 'number') return checkInteger('state', state, -0x80000000, 0x7fffffff);
    if (typeof state === 'string' && SETTABLE.includes(state)) {
      return STATE_CODES[state];
    }
    throw argumentError(
      `unknown state ${JSON.stringify(state)}; setState accepts ${SETTABLE.join(', ')} ` +
        `(or their codes); 'stopped' is written by stop() and close()`
    );
  }

  class Emitter {
    #handle;
    #path;

    constructor(handle, path) {
      this.#handle = handle;
      this.#path = path;
    }

    /** The heartbeat file, or null when started from the environment. */
    get path() {
      return this.#path;
    }

    get closed() {
      return this.#handle === null;
    }

    #live() {
      if (this.#handle === null) {
        throw new LifesignError('the emitter is closed', { code: errorName(C.LIFESIGN_ERR_STATE), rc: C.LIFESIGN_ERR_STATE });
      }
      return this.#handle;
    }

    beat() {
      const rc = fn.lifesign_beat(this.#live());
      if (rc !== C.LIFESIGN_OK) throw failure(rc);
    }

    setState(state, message) {
      const h = this.#live();
      const code = stateCode(state);
      const msg = message === undefined || message === null ? null : checkString('message', message);
      const rc = fn.lifesign_set_state(h, code, msg);
      if (rc !== C.LIFESIGN_OK) throw failure(rc);
    }

    reload(message) {
      const h = this.#live();
      const msg = message === undefined || message === null ? null : checkString('message', message);
      const rc = fn.lifesign_reload(h, msg);
      if (rc !== C.LIFESIGN_OK) throw failure(rc);
    }

    setMeta(key, value) {
      const h = this.#live();
      checkString('key', key);
      const v = value === undefined || value === null ? null : checkString('value', value);
      const rc = fn.lifesign_set_meta(h, key, v);
      if (rc !== C.LIFESIGN_OK) throw failure(rc);
    }

    progress() {
      const rc = fn.lifesign_progress(this.#live());
      if (rc !== C.LIFESIGN_OK) throw failure(rc);
    }

    writeFailures() {
      const h = this.#live();
      const slot = Buffer.alloc(8);
      const rc = fn.lifesign_write_failures(h, slot);
      if (rc !== C.LIFESIGN_OK) throw failure(rc);
      return readU64(slot, 0);
    }

    stop() {
      const rc = fn.lifesign_stop(this.#live());
      if (rc !== C.LIFESIGN_OK) throw failure(rc);
    }

    close() {
      const h = this.#handle;
      if (h === null) return;
      this.#handle = null;
      fn.lifesign_free(h);
    }
  }
  // `using hb = start(...)` and `await using hb = start(...)`, where the
  // runtime has the symbols (Node 18.18+, 20.4+).
  if (typeof Symbol.dispose === 'symbol') {
    Emitter.prototype[Symbol.dispose] = function dispose() {
      this.close();
    };
  }
  if (typeof Symbol.asyncDispose === 'symbol') {
    Emitter.prototype[Symbol.asyncDispose] = async function asyncDispose() {
      this.close();
    };
  }

  function adopt(slot, path) {
    const h = b.readPointer(slot);
    return h === null ? null : new Emitter(h, path);
  }

  function start(path, options) {
    checkString('path', path);
    const o = optionsObject(options);
    const slot = b.newSlot();
    const simple = Object.keys(o).every((k) => k === 'intervalMs' || o[k] === undefined);
    let rc;
    if (simple) {
      rc = fn.lifesign_start(path, o.intervalMs === undefined ? 0 : u32('intervalMs', o.intervalMs), slot);
    } else {
      const buf = optionsCodec.alloc();
      fn.lifesign_options_init(buf);
      const c = optionsCodec.decode(buf);
      if (o.intervalMs !== undefined) c.interval_ms = u32('intervalMs', o.intervalMs);
      if (o.mode !== undefined) c.mode = u32('mode', o.mode);
      if (o.staleAfterMs !== undefined) c.stale_after_ms = u64('staleAfterMs', o.staleAfterMs);
      if (o.durable) c.flags |= C.LIFESIGN_OPT_DURABLE;
      if (o.removeOnStop) c.flags |= C.LIFESIGN_OPT_REMOVE_ON_STOP;
      if (o.systemd === false) c.flags |= C.LIFESIGN_OPT_NO_SYSTEMD;
      if (o.watchdogTrigger) c.flags |= C.LIFESIGN_OPT_WATCHDOG_TRIGGER;
      if (o.watchdogOnProgress) c.flags |= C.LIFESIGN_OPT_WATCHDOG_ON_PROGRESS;
      if (o.s6 === false) c.flags |= C.LIFESIGN_OPT_NO_S6;
      else if (typeof o.s6 === 'number') c.notify_fd = checkInteger('s6', o.s6, 0, 0x7fffffff);
      else if (o.s6 !== undefined && o.s6 !== true) throw argumentError('s6 must be true, false or a file descriptor');
      c.flags >>>= 0;
      optionsCodec.encode(buf, c);
      rc = fn.lifesign_start_with(path, buf, slot);
    }
    if (rc !== C.LIFESIGN_OK) throw failure(rc);
    return adopt(slot, path);
  }

  function startFromEnv() {
    const slot = b.newSlot();
    const rc = fn.lifesign_start_from_env(slot);
    if (rc !== C.LIFESIGN_OK) throw failure(rc);
    return adopt(slot, process.env.LIFESIGN_FILE || null);
  }

  function check(path, options) {
    checkString('path', path);
    const o = optionsObject(options);
    const maxAge = o.maxAgeMs === undefined ? 0 : u64('maxAgeMs', o.maxAgeMs);
    const pid = o.pid === undefined ? 0 : i64('pid', o.pid);
    const stall = o.stallMs === undefined ? 0 : u64('stallMs', o.stallMs);
    const buf = checkBuffer; // calls are synchronous: one buffer serves them all
    const rc =
      stall === 0
        ? fn.lifesign_check(path, maxAge, pid, buf)
        : fn.lifesign_check_stall(path, maxAge, pid, stall, buf);
    if (rc !== C.LIFESIGN_OK) {
      const err = failure(rc);
      err.report = toReport(reportCodec.decode(buf));
      throw err;
    }
    return toReport(reportCodec.decode(buf));
  }

  // The library's LIFESIGN_LOCK_* and LIFESIGN_PROCESS_* codes by name.
  const codesOf = (prefix) =>
    Object.fromEntries(
      Object.entries(C)
        .filter(([name]) => name.startsWith(prefix))
        .map(([name, code]) => [name.slice(prefix.length).toLowerCase(), code])
    );
  const LOCK_CODES = codesOf('LIFESIGN_LOCK_');
  const PROCESS_CODES = codesOf('LIFESIGN_PROCESS_');

  function stateOf(what, value, codes) {
    if (value === undefined || value === null) return codes.unknown;
    if (typeof value === 'string' && Object.prototype.hasOwnProperty.call(codes, value)) return codes[value];
    throw argumentError(`${what} must be one of ${Object.keys(codes).join(', ')}, got ${JSON.stringify(value)}`);
  }

  function judge(record, facts, options) {
    if (record !== null && !(record instanceof Uint8Array) && typeof record !== 'string') {
      throw argumentError('record must be a Buffer, a Uint8Array, a string or null');
    }
    const bytes = typeof record === 'string' ? Buffer.from(record, 'utf8') : record;
    const f = optionsObject(facts);
    const o = optionsObject(options);
    const buf = factsCodec.alloc();
    fn.lifesign_facts_init(buf);
    const c = factsCodec.decode(buf);
    const ms = (name, v) => (v === undefined || v === null ? 0 : u64(name, v));
    c.now_ms = ms('nowMs', f.nowMs);
    c.mono_ms = ms('monoMs', f.monoMs);
    c.pid_ns = ms('pidNs', f.pidNs);
    c.time_ns = ms('timeNs', f.timeNs);
    c.process_start = ms('processStart', f.processStart);
    c.lock = stateOf('lock', f.lock, LOCK_CODES);
    c.process = stateOf('process', f.process, PROCESS_CODES);
    c.max_age_ms = ms('maxAgeMs', o.maxAgeMs);
    c.expected_pid = o.pid === undefined ? 0 : i64('pid', o.pid);
    c.stall_ms = ms('stallMs', o.stallMs);
    factsCodec.encode(buf, c);
    // The strings live until the call returns.
    const keep = [];
    for (const [key, field] of [['host', 'host'], ['bootId', 'boot_id']]) {
      if (f[key] === undefined || f[key] === null) continue;
      checkString(key, f[key]);
      if (f[key].includes('\0')) throw argumentError(`${key} contains a NUL character`);
      keep.push(b.writeCString(buf, b.offsetOf('lifesign_facts', field), f[key]));
    }
    const out = checkBuffer;
    // An empty buffer would reach C as NULL (no record): pass a byte, none of it read.
    const arg = bytes === null ? null : bytes.length === 0 ? Buffer.alloc(1) : bytes;
    const rc = fn.lifesign_judge(arg, bytes === null ? 0 : bytes.length, buf, out);
    keep.length = 0;
    if (rc !== C.LIFESIGN_OK) {
      const err = failure(rc);
      err.report = toReport(reportCodec.decode(out));
      throw err;
    }
    return toReport(reportCodec.decode(out));
  }

  function isAlive(path, maxAgeMs) {
    checkString('path', path);
    const rc = fn.lifesign_is_alive(path, maxAgeMs === undefined ? 0 : u64('maxAgeMs', maxAgeMs));
    if (rc < 0) throw failure(rc);
    return rc === 1;
  }

  function waitReady(path, options) {
    return new Promise((resolve, reject) => {
      checkString('path', path);
      const o = optionsObject(options);
      const pid = o.pid === undefined ? 0 : i64('pid', o.pid);
      const idle = o.idleTimeoutMs === undefined ? 0 : u64('idleTimeoutMs', o.idleTimeoutMs);
      const timeout = o.timeoutMs === undefined ? 0 : u64('timeoutMs', o.timeoutMs);
      const signal = o.signal;
      if (signal !== undefined && signal !== null && typeof signal.addEventListener !== 'function') {
        throw argumentError('signal must be an AbortSignal');
      }

      // Without a signal there is nothing to cancel: the plain wait will do.
      let token = null;
      if (signal) {
        const slot = b.newSlot();
        const rcNew = fn.lifesign_cancel_new(slot);
        if (rcNew !== C.LIFESIGN_OK) throw failure(rcNew);
        token = b.readPointer(slot);
      }
      const report = reportCodec.alloc();
      let finished = false;

      const onAbort = () => {
        // The token is live until the wait has returned (see settle below).
        if (!finished) fn.lifesign_cancel_trigger(token);
      };
      if (signal) {
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      }

      const settle = () => {
        finished = true;
        if (signal) {
          signal.removeEventListener('abort', onAbort);
          fn.lifesign_cancel_free(token);
        }
      };
      const done = (err, rc) => {
        // The token is freed only now that the wait on the worker thread is over.
        settle();
        if (err) {
          reject(err);
          return;
        }
        const r = toReport(reportCodec.decode(report));
        // Both timeouts reject alike: the waiter gave up, with no decision
        // from the emitter. The library ends an idle timeout with verdict
        // stale and LIFESIGN_OK; here it is a timeout like the hard one.
        const idled = rc === C.LIFESIGN_OK && r.verdict === 'stale';
        if (rc === C.LIFESIGN_OK && !idled) {
          resolve(r);
          return;
        }
        const rcOut = idled ? C.LIFESIGN_ERR_TIMEOUT : rc;
        const code = errorName(rcOut);
        const details = { code, rc: rcOut, report: r };
        let e;
        if (idled) {
          e = new LifesignError(`no new heartbeat in ${path} for ${idle} ms (idleTimeoutMs; last state ${r.state})`, details);
        } else if (rc === C.LIFESIGN_ERR_TIMEOUT) {
          e = new LifesignError(`timed out after ${timeout} ms waiting for ${path} to be ready (timeoutMs; last verdict ${r.verdict})`, details);
        } else if (rc === C.LIFESIGN_ERR_CANCELLED) {
          e = new LifesignError(`the wait for ${path} was aborted (last verdict ${r.verdict})`, {
            ...details,
            name: 'AbortError',
            cause: signal ? signal.reason : undefined,
          });
        } else {
          // The library's message is thread-local to the worker thread that ran the wait.
          e = new LifesignError(`waiting for ${path} failed with ${code}`, details);
        }
        reject(e);
      };
      try {
        if (signal) b.callAsync('lifesign_wait_ready_cancel', [path, pid, idle, timeout, token, report], done);
        else b.callAsync('lifesign_wait_ready', [path, pid, idle, timeout, report], done);
      } catch (err) {
        // The call was never queued: nothing uses the token.
        settle();
        throw err;
      }
    });
  }

  function version() {
    return fn.lifesign_version();
  }

  return Object.freeze({
    backend: b.name,
    libraryPath: b.libPath,
    start,
    startFromEnv,
    check,
    judge,
    isAlive,
    waitReady,
    version,
    onLog: makeOnLog(b.libPath, fn),
    verdictName,
    stateName,
    shapeName,
    errorName,
    Emitter,
    // For tests and diagnostics: the struct layout the backend computed.
    layout: Object.freeze({ sizeOf: b.sizeOf, offsetOf: b.offsetOf }),
  });
}

module.exports = { createApi, ENV_BACKEND, DEFAULT_BACKEND, BACKENDS, LifesignError };
