'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const { api, lifesign, tempDir, VECTORS, HEADER, CLI, ChildEmitter, until, childEnv } = require('./helpers');

const cases = JSON.parse(fs.readFileSync(path.join(VECTORS, 'cases.json'), 'utf8'));
const REPORT_KEYS = [
  'verdict', 'state', 'pid', 'seq', 'progress', 'ageMs', 'updatedAtMs', 'intervalMs',
  'message', 'progressAtMs', 'progressAgeMs', 'maxAgeMs', 'shape', 'detail',
].sort();

test('the shared vectors are there to run', () => {
  assert.ok(cases.length > 0);
});

// Every key a case, or its facts, may have: a key this runner does not know
// fails it rather than being skipped.
const CASE_KEYS = ['name', 'file', 'max_age_ms', 'expected_pid', 'stall_ms', 'verdict', 'state', 'shape', 'updated_at_ms', 'facts'];
const FACTS_KEYS = ['now_ms', 'mono_ms', 'host', 'boot_id', 'pid_ns', 'time_ns', 'lock', 'process', 'process_start'];
let judged = 0;

// A case with facts: the bytes of its file (null when there is none) judged
// under those facts.
function judgeVector(c, options) {
  for (const k of Object.keys(c.facts)) assert.ok(FACTS_KEYS.includes(k), `unknown fact ${k}`);
  let bytes = null;
  try {
    bytes = fs.readFileSync(path.join(VECTORS, c.file));
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
  }
  const f = c.facts;
  judged++;
  return api.judge(bytes, {
    nowMs: f.now_ms,
    monoMs: f.mono_ms,
    host: f.host,
    bootId: f.boot_id,
    pidNs: f.pid_ns,
    timeNs: f.time_ns,
    lock: f.lock,
    process: f.process,
    processStart: f.process_start,
  }, options);
}

for (const c of cases) {
  test(`vector ${c.name}: ${c.verdict}`, () => {
    for (const k of Object.keys(c)) assert.ok(CASE_KEYS.includes(k), `unknown key ${k}`);
    const options = {
      maxAgeMs: c.max_age_ms,
      pid: c.expected_pid,
      stallMs: c.stall_ms,
    };
    const r = c.facts ? judgeVector(c, options) : api.check(path.join(VECTORS, c.file), options);
    assert.deepEqual({ verdict: r.verdict, state: r.state, shape: r.shape }, { verdict: c.verdict, state: c.state, shape: c.shape });
    if ('updated_at_ms' in c) assert.equal(Number(r.updatedAtMs), c.updated_at_ms);
  });
}

test('every facts vector was judged', () => {
  const want = cases.filter((c) => c.facts).length;
  assert.ok(want >= 60, `only ${want} facts vectors`);
  assert.equal(judged, want);
});

test('judge takes bytes, a string or null, and refuses bad facts', () => {
  const record = '{"v":1,"pid":4242,"state":"ready","seq":1,"updated_at_ms":1000}';
  const r = api.judge(Buffer.from(record), { nowMs: 1500, process: 'running' });
  assert.equal(r.verdict, 'alive');
  assert.equal(r.ageMs, 500);
  assert.equal(api.judge(record, { nowMs: 1500 }).verdict, 'alive');
  assert.equal(api.judge(null, {}).verdict, 'missing');
  assert.equal(api.judge(Buffer.alloc(0), {}).verdict, 'invalid');
  assert.equal(api.judge(record, { nowMs: 1500, process: 'exited' }).verdict, 'process_gone');
  assert.throws(() => api.judge(record, { lock: 'locked' }), /lock must be one of unknown, held, free, absent/);
  assert.throws(() => api.judge(record, { host: 'a\0b' }), /NUL/);
  assert.throws(() => api.judge(42, {}), /record must be/);
});

test('every verdict but missing is covered by the shared vectors', () => {
  const seen = new Set(cases.map((c) => c.verdict));
  for (const v of ['alive', 'invalid', 'pid_mismatch', 'stopped', 'failed', 'process_gone', 'future', 'stale', 'stalled']) {
    assert.ok(seen.has(v), `no vector gives ${v}`);
  }
});

test('check of a file that does not exist gives verdict missing, state null, shape none', (t) => {
  const r = api.check(path.join(tempDir(t), 'nothing-here.json'));
  assert.equal(r.verdict, 'missing');
  assert.equal(r.state, null);
  assert.equal(r.shape, 'none');
  assert.equal(api.isAlive(path.join(tempDir(t), 'nothing-here.json')), false);
});

test('an invalid file carries its reason in detail; an alive one has none', (t) => {
  const file = path.join(tempDir(t), 'junk.json');
  fs.writeFileSync(file, 'not json at all');
  const r = api.check(file);
  assert.equal(r.verdict, 'invalid');
  assert.match(r.detail, /\S/);
  const live = path.join(tempDir(t), 'hb.json');
  const e = api.start(live, { intervalMs: 1000 });
  t.after(() => e.close());
  assert.equal(api.check(live).detail, '');
});

test('check returns a plain object with every report field, strings for names and numbers for the rest', (t) => {
  const file = path.join(tempDir(t), 'hb.json');
  const e = api.start(file, { intervalMs: 1000 });
  t.after(() => e.close());
  e.setState('ready', 'héllo wörld');
  const r = api.check(file);
  assert.deepEqual(Object.keys(r).sort(), REPORT_KEYS);
  assert.equal(Object.getPrototypeOf(r), Object.prototype);
  assert.equal(r.verdict, 'alive');
  assert.equal(r.state, 'ready');
  assert.equal(r.shape, 'v1');
  assert.equal(r.message, 'héllo wörld');
  assert.equal(r.pid, process.pid);
  assert.equal(r.seq, 2);
  assert.equal(r.intervalMs, 1000);
  assert.equal(r.maxAgeMs, 3000);
  for (const k of ['pid', 'seq', 'progress', 'ageMs', 'updatedAtMs', 'intervalMs', 'progressAtMs', 'progressAgeMs', 'maxAgeMs']) {
    assert.equal(typeof r[k], 'number', k);
    assert.ok(Number.isSafeInteger(r[k]), k);
  }
  assert.ok(r.updatedAtMs > 1.5e12, 'updatedAtMs is a real epoch time in ms');
});

test('check with maxAgeMs applies that age', (t) => {
  const file = path.join(tempDir(t), 'hb.json');
  const e = api.start(file, { intervalMs: 3600000 });
  t.after(() => e.close());
  assert.equal(api.check(file, { maxAgeMs: 123456 }).maxAgeMs, 123456);
});

test('check with pid: the emitter own PID is alive, another gives pid_mismatch', (t) => {
  const file = path.join(tempDir(t), 'hb.json');
  const e = api.start(file, { intervalMs: 3600000 });
  t.after(() => e.close());
  assert.equal(api.check(file, { pid: process.pid }).verdict, 'alive');
  assert.equal(api.check(file, { pid: process.pid + 1 }).verdict, 'pid_mismatch');
});

test('check with stallMs: stalled when progress is older than stallMs, alive while it moves', async (t) => {
  const file = path.join(tempDir(t), 'hb.json');
  const e = api.start(file, { intervalMs: 3600000 });
  t.after(() => e.close());
  e.progress();
  e.beat();
  const first = api.check(file).progressAtMs;
  assert.equal(api.check(file, { stallMs: 3600000 }).verdict, 'alive');
  // Beats without progress: progress_at_ms stays; wait until it is older than 1 ms.
  await until('progress to age', () => {
    e.beat();
    return api.check(file).progressAgeMs > 1;
  });
  assert.equal(api.check(file).progressAtMs, first);
  assert.equal(api.check(file, { stallMs: 1 }).verdict, 'stalled');
});

test('a real emitter process is alive while it runs, stopped after stop, process_gone after a crash', async (t) => {
  const dir = tempDir(t);
  const a = path.join(dir, 'a.json');
  const child = new ChildEmitter(a);
  t.after(() => child.kill());
  await child.started();
  const r = api.check(a, { pid: child.pid });
  assert.equal(r.verdict, 'alive');
  assert.equal(r.pid, child.pid);
  await child.send('ready');
  assert.equal(api.check(a).state, 'ready');
  await child.send('stop');
  assert.equal(api.check(a).verdict, 'stopped');
  await child.kill();

  const b = path.join(dir, 'b.json');
  const crashing = new ChildEmitter(b);
  t.after(() => crashing.kill());
  await crashing.started();
  await crashing.send('ready');
  await crashing.kill('SIGKILL');
  assert.equal(api.check(b).verdict, 'process_gone');
  assert.equal(api.isAlive(b), false);
});

test('a heartbeat written by the command-line tool for a failed process reads failed', (t) => {
  const file = path.join(tempDir(t), 'cli.json');
  execFileSync(CLI, ['emit', file, '--state', 'failed', '--pid', String(process.pid), '--message', 'disk full']);
  const r = api.check(file);
  assert.equal(r.verdict, 'failed');
  assert.equal(r.state, 'failed');
  assert.equal(r.message, 'disk full');
});

test('isAlive is true for a live emitter and false once it stopped', (t) => {
  const file = path.join(tempDir(t), 'hb.json');
  const e = api.start(file, { intervalMs: 3600000 });
  assert.equal(api.isAlive(file), true);
  assert.equal(api.isAlive(file, 3600000), true);
  e.close();
  assert.equal(api.isAlive(file), false);
});

test('check and isAlive throw LIFESIGN_ERR_INVALID_ARGUMENT with the library message for a bad path or pid', () => {
  assert.throws(() => api.check(''), (err) => {
    assert.equal(err.code, 'LIFESIGN_ERR_INVALID_ARGUMENT');
    assert.equal(err.rc, -1);
    assert.ok(err.message.length > 0 && err.message !== err.code);
    assert.equal(err.report.verdict, 'invalid');
    return true;
  });
  assert.throws(() => api.check('x.json', { pid: -5 }), (err) => err.code === 'LIFESIGN_ERR_INVALID_ARGUMENT' && /-5/.test(err.message));
  assert.throws(() => api.isAlive(''), { code: 'LIFESIGN_ERR_INVALID_ARGUMENT' });
  assert.throws(() => api.check('x.json', { maxAgeMs: -1 }), { code: 'LIFESIGN_ERR_INVALID_ARGUMENT' });
  assert.throws(() => api.check('x.json', { maxAgeMs: 1.5 }), { code: 'LIFESIGN_ERR_INVALID_ARGUMENT' });
});

test('version is the header version string', () => {
  const m = /#define\s+LIFESIGN_VERSION_STRING\s+"([^"]+)"/.exec(fs.readFileSync(HEADER, 'utf8'));
  assert.equal(api.version(), m[1]);
  assert.equal(lifesign.version(), m[1]);
});

test('the name functions give the library names, "unknown" out of range', () => {
  assert.equal(api.verdictName(9), 'stalled');
  assert.equal(api.stateName(1), 'ready');
  assert.equal(api.shapeName(4), 'camel');
  assert.equal(api.errorName(-2), 'LIFESIGN_ERR_IO');
  assert.equal(api.errorName(0), 'LIFESIGN_OK');
  assert.equal(api.verdictName(99), 'unknown');
  assert.equal(api.errorName(-99), 'unknown');
});

test('a reader out of descriptors gets an error, not a verdict', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'hb.json');
  const child = new ChildEmitter(file);
  try {
    await child.started();
    await child.send('ready');
    // A child Node that uses every descriptor it may have, then checks.
    const script = `
      const fs = require('fs');
      const api = require(${JSON.stringify(path.join(__dirname, '..'))}).load({ backend: process.env.LIFESIGN_NODE_BACKEND });
      const [file, none] = process.argv.slice(1);
      api.check(file);
      const held = [];
      try { for (;;) held.push(fs.openSync('/dev/null', 'r')); } catch (e) { if (e.code !== 'EMFILE') throw e; }
      const out = {};
      try { api.check(file); out.check = 'a verdict'; } catch (e) { out.check = [e.rc, e.code, e.message]; }
      try { api.isAlive(file); out.isAlive = 'a verdict'; } catch (e) { out.isAlive = e.code; }
      out.missing = api.check(none).verdict;
      for (const fd of held) fs.closeSync(fd);
      process.stdout.write(JSON.stringify(out));
    `;
    const out = JSON.parse(
      // Under a limit of 256 descriptors, so that running out is quick.
      execFileSync('sh', ['-c', 'ulimit -n 256; exec "$0" "$@"', process.execPath, '-e', script, file, `${file}.none`], {
        env: childEnv(),
        encoding: 'utf8',
        timeout: 60000,
      }),
    );
    assert.equal(out.check[0], -7);
    assert.equal(out.check[1], 'LIFESIGN_ERR_CANNOT_TELL', JSON.stringify(out));
    assert.match(out.check[2], /Too many open files/);
    assert.equal(out.isAlive, 'LIFESIGN_ERR_CANNOT_TELL');
    assert.equal(out.missing, 'missing');
  } finally {
    await child.kill();
  }
});
