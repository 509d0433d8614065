'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const { lifesign, api, tempDir, readJson, until, childEnv, FIXTURES, ChildEmitter } = require('./helpers');

const HOUR = 3600000;

function started(t, options = { intervalMs: HOUR }) {
  const file = path.join(tempDir(t), 'hb.json');
  const e = api.start(file, options);
  t.after(() => e.close());
  return { file, e };
}

test('start writes the first heartbeat, state starting and seq 1, before it returns', (t) => {
  const { file, e } = started(t);
  const hb = readJson(file);
  assert.equal(hb.state, 'starting');
  assert.equal(hb.seq, 1);
  assert.equal(hb.pid, process.pid);
  assert.equal(hb.interval_ms, HOUR);
  assert.equal(e.path, file);
  assert.equal(e.closed, false);
});

test('start creates missing parent folders', (t) => {
  const file = path.join(tempDir(t), 'a', 'b', 'hb.json');
  const e = api.start(file);
  t.after(() => e.close());
  assert.equal(readJson(file).seq, 1);
});

test('beat writes a new heartbeat with the next seq', (t) => {
  const { file, e } = started(t);
  e.beat();
  assert.equal(readJson(file).seq, 2);
  e.beat();
  assert.equal(readJson(file).seq, 3);
});

test('the emitter beats on its own every intervalMs', async (t) => {
  const { file } = started(t, { intervalMs: 20 });
  await until('a background beat', () => readJson(file).seq >= 3);
});

test('setState writes the state and message at once; an undefined message keeps it, an empty one clears it', (t) => {
  const { file, e } = started(t);
  e.setState('ready', 'serving on :8080');
  let hb = readJson(file);
  assert.equal(hb.state, 'ready');
  assert.equal(hb.message, 'serving on :8080');
  assert.equal(api.check(file).message, 'serving on :8080');

  e.setState('stopping');
  hb = readJson(file);
  assert.equal(hb.state, 'stopping');
  assert.equal(hb.message, 'serving on :8080');

  e.setState('failed', '');
  hb = readJson(file);
  assert.equal(hb.state, 'failed');
  assert.ok(hb.message === undefined || hb.message === '', `message left: ${hb.message}`);
  assert.equal(api.check(file).message, '');
});

test('setState takes the numeric state codes too', (t) => {
  const { file, e } = started(t);
  e.setState(1);
  assert.equal(readJson(file).state, 'ready');
});

test('setState refuses an unknown state name, and the library refuses an unknown code and stopped', (t) => {
  const { e } = started(t);
  // The message lists exactly what setState accepts: every state but stopped.
  const settable = Object.keys(lifesign.constants)
    .filter((n) => n.startsWith('LIFESIGN_STATE_') && n !== 'LIFESIGN_STATE_STOPPED')
    .map((n) => n.slice('LIFESIGN_STATE_'.length).toLowerCase());
  for (const bad of ['sleeping', 'stopped']) {
    assert.throws(() => e.setState(bad), (err) => {
      assert.ok(err instanceof lifesign.LifesignError);
      assert.equal(err.code, 'LIFESIGN_ERR_INVALID_ARGUMENT');
      const accepted = /setState accepts ([a-z, ]+) \(/.exec(err.message);
      assert.ok(accepted, err.message);
      assert.deepEqual(accepted[1].split(', '), settable);
      return true;
    });
  }
  assert.throws(() => e.setState(42), (err) => err.code === 'LIFESIGN_ERR_INVALID_ARGUMENT' && /42/.test(err.message));
  assert.throws(() => e.setState(lifesign.constants.LIFESIGN_STATE_STOPPED), (err) => {
    return err instanceof lifesign.LifesignError && err.code === 'LIFESIGN_ERR_INVALID_ARGUMENT';
  });
});

test('every error the package throws is a LifesignError with a code', (t) => {
  const { e } = started(t);
  e.close();
  assert.throws(() => e.beat(), (err) => err instanceof lifesign.LifesignError && err.code === 'LIFESIGN_ERR_STATE');
  assert.throws(() => api.check(42), (err) => err instanceof lifesign.LifesignError && err.code === 'LIFESIGN_ERR_INVALID_ARGUMENT');
  assert.throws(() => lifesign.load({ backend: 'koffi', libPath: '/nonexistent/liblifesign.so' }), (err) => {
    return err instanceof lifesign.LifesignError && err.code === 'LIFESIGN_ERR_LIBRARY_NOT_FOUND';
  });
});

test('Symbol.dispose, what `using` calls at the end of its block, closes the emitter', () => {
  const file = path.join(tempDir(), 'hb.json');
  const e = api.start(file, { intervalMs: HOUR });
  e[Symbol.dispose]();
  assert.equal(e.closed, true);
  assert.equal(readJson(file).state, 'stopped');
});

test('Symbol.asyncDispose, what `await using` calls, closes the emitter too', async () => {
  const file = path.join(tempDir(), 'hb.json');
  const e = api.start(file, { intervalMs: HOUR });
  await e[Symbol.asyncDispose]();
  assert.equal(e.closed, true);
  assert.equal(readJson(file).state, 'stopped');
});

test('setMeta adds a key with the next beat, and a null value removes it', (t) => {
  const { file, e } = started(t);
  e.setMeta('version', '1.2.3');
  e.beat();
  assert.deepEqual(readJson(file).meta, { version: '1.2.3' });
  e.setMeta('version', null);
  e.beat();
  const meta = readJson(file).meta;
  assert.ok(meta === undefined || !('version' in meta), JSON.stringify(meta));
});

test('progress counts in memory and the next beat records it', (t) => {
  const { file, e } = started(t);
  const before = readJson(file).progress || 0;
  e.progress();
  e.progress();
  e.progress();
  assert.equal(readJson(file).progress || 0, before, 'progress alone must not write');
  e.beat();
  const hb = readJson(file);
  assert.equal(hb.progress, before + 3);
  assert.equal(typeof hb.progress_at_ms, 'number');
  assert.equal(api.check(file).progress, before + 3);
});

test('writeFailures is 0 while every write succeeds', (t) => {
  const { e } = started(t);
  e.beat();
  assert.equal(e.writeFailures(), 0);
});

test('stop writes state stopped, and a second stop is harmless', (t) => {
  const { file, e } = started(t);
  e.stop();
  assert.equal(readJson(file).state, 'stopped');
  e.stop();
  assert.equal(api.check(file).verdict, 'stopped');
});

test('calls after stop throw LIFESIGN_ERR_STATE with the library message', (t) => {
  const { e } = started(t);
  e.stop();
  for (const call of [() => e.beat(), () => e.setState('ready'), () => e.setMeta('k', 'v'), () => e.progress()]) {
    assert.throws(call, (err) => {
      assert.ok(err instanceof Error);
      assert.equal(err.code, 'LIFESIGN_ERR_STATE');
      assert.equal(err.rc, -3);
      assert.ok(err.message.length > 0 && err.message !== err.code, err.message);
      return true;
    });
  }
});

test('close stops the emitter, is idempotent, and every later call throws an Error with a code', (t) => {
  const file = path.join(tempDir(t), 'hb.json');
  const e = api.start(file, { intervalMs: HOUR });
  e.close();
  assert.equal(readJson(file).state, 'stopped');
  assert.equal(e.closed, true);
  e.close();
  e.close();
  const calls = [
    () => e.beat(),
    () => e.setState('ready', 'x'),
    () => e.setMeta('k', 'v'),
    () => e.progress(),
    () => e.writeFailures(),
    () => e.stop(),
  ];
  for (const call of calls) {
    assert.throws(call, (err) => err instanceof Error && err.code === 'LIFESIGN_ERR_STATE' && /closed/.test(err.message));
  }
});

test('options: mode, staleAfterMs and intervalMs reach the file', (t) => {
  const { file } = started(t, { intervalMs: 250, mode: 0o600, staleAfterMs: 9000, systemd: false, s6: false });
  const hb = readJson(file);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.equal(hb.stale_after_ms, 9000);
  assert.equal(hb.interval_ms, 250);
  assert.equal(api.check(file).maxAgeMs, 9000);
});

test('options: removeOnStop removes the file after the final write; durable writes as usual', (t) => {
  const file = path.join(tempDir(t), 'hb.json');
  const e = api.start(file, { intervalMs: HOUR, removeOnStop: true, durable: true });
  e.beat();
  assert.equal(readJson(file).seq, 2);
  e.stop();
  assert.equal(fs.existsSync(file), false);
  e.close();
});

test('options the library refuses throw LIFESIGN_ERR_INVALID_ARGUMENT with its message', (t) => {
  const file = path.join(tempDir(t), 'hb.json');
  assert.throws(() => api.start(file, { mode: 0o17777 }), (err) => {
    assert.equal(err.code, 'LIFESIGN_ERR_INVALID_ARGUMENT');
    assert.match(err.message, /mode/);
    return true;
  });
  assert.throws(() => api.start(file, { intervalMs: -1 }), { code: 'LIFESIGN_ERR_INVALID_ARGUMENT' });
  assert.throws(() => api.start(file, { s6: 'yes' }), { code: 'LIFESIGN_ERR_INVALID_ARGUMENT' });
  assert.throws(() => api.start(42), { code: 'LIFESIGN_ERR_INVALID_ARGUMENT' });
  assert.equal(fs.existsSync(file), false);
});

test('start throws LIFESIGN_ERR_IO when the file cannot be written', (t) => {
  const dir = tempDir(t);
  const blocker = path.join(dir, 'a-file');
  fs.writeFileSync(blocker, 'not a folder');
  assert.throws(() => api.start(path.join(blocker, 'hb.json')), (err) => {
    assert.equal(err.code, 'LIFESIGN_ERR_IO');
    assert.ok(err.message.length > 0 && err.message !== err.code);
    return true;
  });
  assert.throws(() => api.start(''), { code: 'LIFESIGN_ERR_INVALID_ARGUMENT' });
});

function runFromEnv(env) {
  const out = execFileSync(process.execPath, [path.join(FIXTURES, 'from-env.js')], { env: childEnv(env), encoding: 'utf8' });
  return JSON.parse(out);
}

test('startFromEnv returns null when LIFESIGN_FILE is unset or empty', () => {
  assert.deepEqual(runFromEnv({}), { emitter: null });
  assert.deepEqual(runFromEnv({ LIFESIGN_FILE: '' }), { emitter: null });
  assert.equal(api.startFromEnv(), null);
});

test('startFromEnv starts on LIFESIGN_FILE with LIFESIGN_INTERVAL_MS', (t) => {
  const file = path.join(tempDir(t), 'env.json');
  const r = runFromEnv({ LIFESIGN_FILE: file, LIFESIGN_INTERVAL_MS: '1234' });
  assert.equal(r.emitter, 'started');
  assert.equal(r.path, file);
  assert.equal(r.first.interval_ms, 1234);
  assert.equal(r.first.seq, 1);
  assert.equal(readJson(file).state, 'stopped');
});

test('startFromEnv throws LIFESIGN_ERR_INVALID_ARGUMENT for a malformed LIFESIGN_INTERVAL_MS', (t) => {
  const file = path.join(tempDir(t), 'env.json');
  const r = runFromEnv({ LIFESIGN_FILE: file, LIFESIGN_INTERVAL_MS: 'soon' });
  assert.equal(r.error, 'LIFESIGN_ERR_INVALID_ARGUMENT');
  assert.match(r.message, /LIFESIGN_INTERVAL_MS/);
});

test('reload and the work-driven watchdog speak to systemd in order', async (t) => {
  const { spawn } = require('child_process');
  const readline = require('readline');
  const dir = tempDir(t);
  const sockPath = path.join(dir, 'notify.sock');
  const manager = spawn('python3', [path.join(FIXTURES, 'notify-socket.py'), sockPath], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => manager.kill());
  const lines = readline.createInterface({ input: manager.stdout })[Symbol.asyncIterator]();
  assert.equal((await lines.next()).value, 'bound');
  const saved = { NOTIFY_SOCKET: process.env.NOTIFY_SOCKET, WATCHDOG_USEC: process.env.WATCHDOG_USEC };
  process.env.NOTIFY_SOCKET = sockPath;
  process.env.WATCHDOG_USEC = '7200000000';
  let e;
  try {
    e = api.start(path.join(dir, 'hb.json'), { intervalMs: HOUR, s6: false, watchdogOnProgress: true });
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  e.setState('ready', 'up');
  e.reload('reloading');
  assert.equal(readJson(path.join(dir, 'hb.json')).state, 'starting');
  e.setState('ready', 'up');
  e.beat(); // no progress: no ping
  e.progress();
  e.beat();
  e.close(); // the manager answers no barrier: bounded
  const got = [];
  for (;;) {
    const { value, done } = await lines.next();
    if (done) break;
    got.push(JSON.parse(value));
  }
  assert.match(got[1], /^RELOADING=1\nMONOTONIC_USEC=\d+\nSTATUS=reloading$/);
  got[1] = 'RELOADING';
  assert.deepEqual(got, [
    'READY=1\nSTATUS=up',
    'RELOADING',
    'EXTEND_TIMEOUT_USEC=10800000000',
    'READY=1\nSTATUS=up',
    'WATCHDOG=1',
    'STOPPING=1',
    'BARRIER=1',
  ]);
});

test('an emitter nobody references keeps beating through garbage collection, and exit writes nothing', async () => {
  const file = path.join(tempDir(), 'hb.json');
  const child = new ChildEmitter(file, 10, { script: 'unreferenced.js', nodeArgs: ['--expose-gc'] });
  try {
    await child.started();
    // Read from outside, as a supervisor reads it. The beats are the
    // evidence; a generous maxAgeMs keeps a slow machine's late beat from
    // counting as stale.
    const live = { pid: child.pid, maxAgeMs: 120000 };
    const first = api.check(file, live);
    assert.deepEqual([first.verdict, first.state], ['alive', 'ready']);
    const r = await until('three more beats after global.gc()', async () => {
      await child.send('gc');
      const now = api.check(file, live);
      return now.seq >= first.seq + 3 && now;
    });
    assert.deepEqual([r.verdict, r.state], ['alive', 'ready']);
    // The end of its input empties the event loop: a normal exit, no close().
    child.proc.stdin.end();
    assert.deepEqual(await child.exited, { code: 0, signal: null });
    const after = api.check(file);
    assert.deepEqual([after.verdict, after.state], ['process_gone', 'ready']);
  } finally {
    await child.kill();
  }
});
