'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { isMainThread } = require('node:worker_threads');
const { execFileSync, spawnSync } = require('child_process');

const { api, tempDir, childEnv } = require('./helpers');

const HOUR = 3600000;
// A descriptor number that is never open (above any RLIMIT_NOFILE): the
// library warns that the s6 descriptor is not open, and carries on.
const NOT_OPEN_FD = 1000000;

// A listener that keeps every record; next(text) resolves with the first
// record whose message contains text, whether it came before or after. The
// log route does not keep the process alive (like the emitters): the hang
// guard's timer does, while a test waits.
function recorder() {
  const records = [];
  const waiters = [];
  const listener = (r) => {
    records.push({ ...r, onMainThread: isMainThread });
    for (const w of waiters.splice(0)) {
      if (r.message.includes(w.text)) w.resolve(records[records.length - 1]);
      else waiters.push(w);
    }
  };
  const next = (text) => {
    const seen = records.find((r) => r.message.includes(text));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const guard = setTimeout(() => reject(new Error(`no log record containing ${JSON.stringify(text)}`)), 60000);
      waiters.push({ text, resolve: (r) => (clearTimeout(guard), resolve(r)) });
    });
  };
  return { records, listener, next };
}

// A folder for a heartbeat file that breakFolder() can take away at once,
// however often the library writes: a symbolic link to a real folder.
function breakableFolder() {
  const base = tempDir();
  fs.mkdirSync(path.join(base, 'real'));
  const dir = path.join(base, 'sub');
  fs.symlinkSync(path.join(base, 'real'), dir);
  return dir;
}

// Puts a regular file in the folder's place in one rename: no write can
// succeed there, and the library cannot recreate the folder.
function breakFolder(dir) {
  const blocker = `${dir}.blocker`;
  fs.writeFileSync(blocker, 'in the way');
  fs.renameSync(blocker, dir);
}

function startWithClosedFd(fd) {
  const file = path.join(tempDir(), 'hb.json');
  api.start(file, { intervalMs: HOUR, systemd: false, s6: fd }).close();
}

test('a library warning reaches the listener on the main thread as a warn record', async (t) => {
  t.after(() => api.onLog(null));
  const rec = recorder();
  await api.onLog(rec.listener);
  startWithClosedFd(NOT_OPEN_FD);
  const r = await rec.next('is not open');
  assert.deepEqual(r, { level: 'warn', message: `s6 notification fd ${NOT_OPEN_FD} is not open`, onMainThread: true });
});

test("a failed write on the library's thread reaches the listener, and sync calls meanwhile do not hang", async (t) => {
  t.after(() => api.onLog(null));
  const rec = recorder();
  await api.onLog(rec.listener, { level: 'debug' });
  const dir = breakableFolder();
  const file = path.join(dir, 'hb.json');
  const e = api.start(file, { intervalMs: 10, systemd: false, s6: false });
  t.after(() => e.close());
  // The background thread's next write fails and logs, while this thread
  // keeps calling the emitter (a handler that waited for this thread would
  // deadlock here).
  breakFolder(dir);
  const got = rec.next('cannot write');
  // setMeta takes the emitter's lock, which the failing write holds while it
  // logs. Busy until the failure is counted (the hang guard bounds it).
  const end = Date.now() + 60000;
  while (e.writeFailures() === 0 && Date.now() < end) e.setMeta('k', 'v');
  for (let i = 0; i < 100; i++) e.setMeta('k', String(i));
  const r = await got;
  assert.equal(r.level, 'warn');
  assert.ok(r.message.includes(file), r.message);
  assert.equal(r.onMainThread, true);
  assert.throws(() => e.stop(), { code: 'LIFESIGN_ERR_IO' });
});

test("level 'off' silences the library, and a replaced listener hears nothing more", async (t) => {
  t.after(() => api.onLog(null));
  const old = recorder();
  await api.onLog(old.listener);
  const rec = recorder();
  await api.onLog(rec.listener, { level: 'off' });
  startWithClosedFd(NOT_OPEN_FD);
  await api.onLog(rec.listener);
  startWithClosedFd(NOT_OPEN_FD + 1);
  // Messages arrive in order: once the second is in, the first never will.
  await rec.next(`fd ${NOT_OPEN_FD + 1} `);
  assert.deepEqual(
    rec.records.map((r) => r.message),
    [`s6 notification fd ${NOT_OPEN_FD + 1} is not open`]
  );
  assert.deepEqual(old.records, []);
});

test('null restores the library default: warnings on stderr', () => {
  const script = `
    const lifesign = require(${JSON.stringify(path.resolve(__dirname, '..'))});
    lifesign.onLog(() => {}).then(() => lifesign.onLog(null)).then(() => {
      lifesign.start(${JSON.stringify(path.join(tempDir(), 'hb.json'))},
        { intervalMs: ${HOUR}, systemd: false, s6: ${NOT_OPEN_FD} }).close();
    });`;
  const child = spawnSync(process.execPath, ['-e', script], { env: childEnv(), encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  assert.equal(child.stderr, `lifesign: s6 notification fd ${NOT_OPEN_FD} is not open\n`);
});

test('a process that exits with a listener set and a failing emitter exits cleanly', () => {
  // The route is taken down at exit, before the worker thread ends: the
  // library's thread must neither crash nor hang in the handler.
  const dir = breakableFolder();
  const script = `
    const fs = require('fs');
    const lifesign = require(${JSON.stringify(path.resolve(__dirname, '..'))});
    lifesign.onLog((r) => process.stdout.write(r.level + ': ' + r.message + '\\n')).then(() => {
      lifesign.start(${JSON.stringify(path.join(dir, 'hb.json'))}, { intervalMs: 10, systemd: false, s6: false });
      fs.writeFileSync(${JSON.stringify(dir + '.blocker')}, 'in the way');
      fs.renameSync(${JSON.stringify(dir + '.blocker')}, ${JSON.stringify(dir)});
      setTimeout(() => process.exit(0), 50);
    });`;
  execFileSync(process.execPath, ['-e', script], { env: childEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
});

test('onLog refuses a listener that is not a function and an unknown level', async () => {
  await assert.rejects(api.onLog('log'), { code: 'LIFESIGN_ERR_INVALID_ARGUMENT' });
  await assert.rejects(api.onLog(() => {}, { level: 'loud' }), { code: 'LIFESIGN_ERR_INVALID_ARGUMENT' });
});
