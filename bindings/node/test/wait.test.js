'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('path');
const { execFileSync } = require('child_process');

const { lifesign, api, tempDir, ChildEmitter, until, CLI } = require('./helpers');

const HOUR = 3600000;

// Tracks whether a promise has settled, without consuming its result.
function watch(promise) {
  const w = { settled: false };
  promise.then(
    () => (w.settled = true),
    () => (w.settled = true)
  );
  return w;
}

// An interval timer counting event-loop turns.
function ticker(t) {
  const k = { count: 0 };
  const id = setInterval(() => k.count++, 1);
  t.after(() => clearInterval(id));
  return k;
}

test('waitReady resolves when a real child process becomes ready, and the event loop keeps running meanwhile', async (t) => {
  const file = path.join(tempDir(t), 'child.json');
  const child = new ChildEmitter(file);
  t.after(() => child.kill());
  await child.started();

  const ticks = ticker(t);
  const waiting = api.waitReady(file, { pid: child.pid, timeoutMs: 120000 });
  const w = watch(waiting);
  // The wait is pending in the library; timers on this thread still fire.
  const before = ticks.count;
  await until('the interval timer to fire while the wait is pending', () => ticks.count >= before + 5);
  assert.equal(w.settled, false, 'the child is still starting: the wait must not have ended');

  await child.send('ready');
  const r = await waiting;
  assert.equal(r.verdict, 'alive');
  assert.equal(r.state, 'ready');
  assert.equal(r.pid, child.pid);
});

test('waitReady resolves with verdict failed when the child reports failed', async (t) => {
  const file = path.join(tempDir(t), 'child.json');
  const child = new ChildEmitter(file);
  t.after(() => child.kill());
  await child.started();
  const waiting = api.waitReady(file, { timeoutMs: 120000 });
  await child.send('failed cannot bind :80');
  const r = await waiting;
  assert.equal(r.verdict, 'failed');
  assert.equal(r.state, 'failed');
  assert.equal(r.message, 'cannot bind :80');
});

test('waitReady resolves with verdict process_gone when the child dies before it is ready', async (t) => {
  const file = path.join(tempDir(t), 'child.json');
  const child = new ChildEmitter(file);
  t.after(() => child.kill());
  await child.started();
  const waiting = api.waitReady(file, { timeoutMs: 120000 });
  await child.kill('SIGKILL');
  const r = await waiting;
  assert.equal(r.verdict, 'process_gone');
});

test('waitReady resolves with verdict stopped when the child stops without being ready', async (t) => {
  const file = path.join(tempDir(t), 'child.json');
  const child = new ChildEmitter(file);
  t.after(() => child.kill());
  await child.started();
  const waiting = api.waitReady(file, { timeoutMs: 120000 });
  await child.send('stop');
  assert.equal((await waiting).verdict, 'stopped');
});

test('waitReady waits for a file that does not exist yet', async (t) => {
  const file = path.join(tempDir(t), 'later.json');
  const waiting = api.waitReady(file, { timeoutMs: 120000 });
  const w = watch(waiting);
  await new Promise((r) => setImmediate(r));
  assert.equal(w.settled, false);
  const e = api.start(file, { intervalMs: HOUR });
  t.after(() => e.close());
  e.setState('ready');
  const r = await waiting;
  assert.equal(r.verdict, 'alive');
  assert.equal(r.state, 'ready');
});

test('waitReady rejects, as at the hard timeout, when no new heartbeat arrives within idleTimeoutMs', async (t) => {
  const file = path.join(tempDir(t), 'once.json');
  execFileSync(CLI, ['emit', file, '--state', 'starting', '--pid', String(process.pid)]);
  await assert.rejects(api.waitReady(file, { idleTimeoutMs: 50, timeoutMs: 120000 }), (err) => {
    assert.ok(err instanceof lifesign.LifesignError);
    assert.equal(err.name, 'LifesignError');
    assert.equal(err.code, 'LIFESIGN_ERR_TIMEOUT');
    assert.equal(err.rc, lifesign.constants.LIFESIGN_ERR_TIMEOUT);
    assert.match(err.message, /idleTimeoutMs/);
    assert.equal(err.report.verdict, 'stale');
    assert.equal(err.report.state, 'starting');
    return true;
  });
});

test('waitReady rejects with LIFESIGN_ERR_TIMEOUT and the last report at the hard timeout', async (t) => {
  const file = path.join(tempDir(t), 'slow.json');
  const e = api.start(file, { intervalMs: HOUR });
  t.after(() => e.close());
  await assert.rejects(api.waitReady(file, { timeoutMs: 50 }), (err) => {
    assert.ok(err instanceof lifesign.LifesignError);
    assert.match(err.message, /timeoutMs/);
    assert.equal(err.code, 'LIFESIGN_ERR_TIMEOUT');
    assert.equal(err.rc, -5);
    assert.equal(err.report.verdict, 'alive');
    assert.equal(err.report.state, 'starting');
    assert.equal(err.report.pid, process.pid);
    return true;
  });
});

test('waitReady rejects with an AbortError carrying the last report when its signal aborts', async (t) => {
  const file = path.join(tempDir(t), 'never.json');
  const e = api.start(file, { intervalMs: HOUR });
  t.after(() => e.close());
  const ac = new AbortController();
  const ticks = ticker(t);
  const waiting = api.waitReady(file, { signal: ac.signal });
  const w = watch(waiting);
  const before = ticks.count;
  await until('the timer to fire while the wait is pending', () => ticks.count >= before + 3);
  assert.equal(w.settled, false);
  ac.abort(new Error('shutting down'));
  await assert.rejects(waiting, (err) => {
    assert.ok(err instanceof lifesign.LifesignError);
    assert.equal(err.name, 'AbortError');
    assert.equal(err.code, 'LIFESIGN_ERR_CANCELLED');
    assert.equal(err.cause.message, 'shutting down');
    assert.equal(err.report.state, 'starting');
    assert.equal(err.report.verdict, 'alive');
    return true;
  });
});

test('waitReady with an already aborted signal rejects with an AbortError', async (t) => {
  const file = path.join(tempDir(t), 'never.json');
  const e = api.start(file, { intervalMs: HOUR });
  t.after(() => e.close());
  await assert.rejects(api.waitReady(file, { signal: AbortSignal.abort() }), { name: 'AbortError', code: 'LIFESIGN_ERR_CANCELLED' });
});

test('aborting after the wait ended does nothing (the cancel token is already released)', async (t) => {
  const file = path.join(tempDir(t), 'ready.json');
  const e = api.start(file, { intervalMs: HOUR });
  t.after(() => e.close());
  e.setState('ready');
  const ac = new AbortController();
  const r = await api.waitReady(file, { signal: ac.signal, timeoutMs: 120000 });
  assert.equal(r.state, 'ready');
  ac.abort();
  ac.abort();
  // Still usable afterwards.
  assert.equal((await api.waitReady(file, { timeoutMs: 120000 })).state, 'ready');
});

test('several waits run at once, each aborted or decided on its own', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'shared.json');
  const e = api.start(file, { intervalMs: HOUR });
  t.after(() => e.close());
  const controllers = [new AbortController(), new AbortController(), new AbortController()];
  const waits = controllers.map((ac) => api.waitReady(file, { signal: ac.signal, timeoutMs: 120000 }));
  controllers[1].abort();
  await assert.rejects(waits[1], { name: 'AbortError' });
  e.setState('ready');
  assert.equal((await waits[0]).state, 'ready');
  assert.equal((await waits[2]).state, 'ready');
});

test('waitReady rejects bad arguments with LIFESIGN_ERR_INVALID_ARGUMENT', async () => {
  await assert.rejects(api.waitReady(''), { code: 'LIFESIGN_ERR_INVALID_ARGUMENT' });
  await assert.rejects(api.waitReady('x.json', { pid: -1 }), { code: 'LIFESIGN_ERR_INVALID_ARGUMENT' });
  await assert.rejects(api.waitReady('x.json', { timeoutMs: -1 }), { code: 'LIFESIGN_ERR_INVALID_ARGUMENT' });
  await assert.rejects(api.waitReady('x.json', { signal: 'stop' }), { code: 'LIFESIGN_ERR_INVALID_ARGUMENT' });
  await assert.rejects(api.waitReady(7), { code: 'LIFESIGN_ERR_INVALID_ARGUMENT' });
});
