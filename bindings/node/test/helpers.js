'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');
const readline = require('readline');

const lifesign = require('..');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const VECTORS = path.join(ROOT, 'tests', 'vectors');
const HEADER = path.join(ROOT, 'include', 'lifesign.h');
const CLI = path.join(ROOT, 'target', 'release', 'lifesign');
const FIXTURES = path.join(__dirname, 'fixtures');

// The backend under test: $LIFESIGN_NODE_BACKEND (run-tests.sh runs the
// suite once per backend), koffi otherwise.
const BACKEND = process.env.LIFESIGN_NODE_BACKEND || 'koffi';
const api = lifesign.load({ backend: BACKEND });

// One folder per test file, removed when the process exits: after every
// test's own cleanup, so that an emitter closed late (which writes its
// final heartbeat, recreating missing folders) leaves nothing behind.
let root = null;
function tempDir() {
  if (root === null) {
    root = fs.mkdtempSync(path.join(process.env.TMPDIR || os.tmpdir(), 'lifesign-node-'));
    process.on('exit', () => fs.rmSync(root, { recursive: true, force: true }));
  }
  return fs.mkdtempSync(path.join(root, 't-'));
}

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

// Bounded polling: fails only when the condition never holds within a
// generous deadline (a real hang), never on a slow machine.
async function until(what, predicate, { deadlineMs = 20000, stepMs = 5 } = {}) {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = await predicate();
    if (v) return v;
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

// Environment for children: no supervisor variables leaking in from outside.
function childEnv(extra = {}) {
  const env = { ...process.env, LIFESIGN_NODE_BACKEND: BACKEND, LIFESIGN_LIB: api.libraryPath };
  for (const k of ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID', 'LIFESIGN_NOTIFY_FD', 'LIFESIGN_FILE', 'LIFESIGN_INTERVAL_MS']) {
    delete env[k];
  }
  return { ...env, ...extra };
}

// test/fixtures/child-emitter.js in a separate Node process, read through
// the line protocol of tests/README.md: one command a line on its stdin,
// one answer a line on its stdout, each protocol line marked "@@ ".
// `script` names another program of test/fixtures that speaks the same
// protocol (given the file as its argument), `nodeArgs` Node's own flags.
class ChildEmitter {
  constructor(file, intervalMs = 3600000, { script = 'child-emitter.js', nodeArgs = [] } = {}) {
    this.proc = spawn(process.execPath, [...nodeArgs, path.join(FIXTURES, script), file], {
      env: childEnv({ LIFESIGN_FILE: file, LIFESIGN_INTERVAL_MS: String(intervalMs) }),
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, signal) => resolve({ code, signal })));
    const lines = readline.createInterface({ input: this.proc.stdout });
    this.queue = [];
    this.waiters = [];
    lines.on('line', (l) => {
      if (!l.startsWith('@@ ')) return;
      const line = l.slice(3);
      const w = this.waiters.shift();
      if (w) w(line);
      else this.queue.push(line);
    });
    this.proc.on('exit', () => {
      for (const w of this.waiters.splice(0)) w(null);
    });
  }

  get pid() {
    return this.proc.pid;
  }

  // Resolves once the child says "started pid=PID" (its first heartbeat
  // is written).
  async started() {
    const line = await this.nextLine();
    if (line !== `started pid=${this.pid}`) throw new Error(`child said ${line}, want started pid=${this.pid}`);
  }

  // The next protocol line, without its marker; null once the child has exited.
  nextLine() {
    if (this.queue.length) return Promise.resolve(this.queue.shift());
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return Promise.resolve(null);
    return new Promise((r) => this.waiters.push(r));
  }

  async send(command) {
    this.proc.stdin.write(`${command}\n`);
    const reply = await this.nextLine();
    if (reply !== 'ok') throw new Error(`child answered ${reply} to ${command}`);
    return reply;
  }

  async kill(signal = 'SIGKILL') {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
    return this.exited;
  }
}

module.exports = {
  lifesign,
  api,
  BACKEND,
  ROOT,
  VECTORS,
  HEADER,
  CLI,
  FIXTURES,
  tempDir,
  readJson,
  until,
  childEnv,
  ChildEmitter,
};
