'use strict';

// Per-call cost of check() and beat() on each backend. Prints one JSON object
// a line: {"lang":"node","backend":...,"op":"check"|"beat","ns_per_call":N,"calls":N}
//
//   node bench.js [--backend koffi|ffi-napi]... [--seconds S]
//
// check: a heartbeat kept by a separate process (test/fixtures/child-emitter.js).
// beat: an emitter of this process on a file in $TMPDIR, else /dev/shm, else the OS temp folder.

const fs = require('fs');
const os = require('os');
const path = require('path');
const lifesign = require('.');

function parseArgs(argv) {
  const out = { backends: [], seconds: Number(process.env.LIFESIGN_BENCH_SECONDS || 1) };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--backend') out.backends.push(argv[++i]);
    else if (argv[i] === '--seconds') out.seconds = Number(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (out.backends.length === 0) out.backends = ['koffi', 'ffi-napi'];
  return out;
}

function scratchDir() {
  const candidates = [process.env.TMPDIR, '/dev/shm', os.tmpdir()].filter(Boolean);
  for (const base of candidates) {
    try {
      return fs.mkdtempSync(path.join(base, 'lifesign-bench-'));
    } catch (_) {
      // try the next one
    }
  }
  throw new Error(`no writable scratch folder among ${candidates.join(', ')}`);
}

// Runs fn in batches until `seconds` have passed; returns ns per call.
function measure(fn, seconds) {
  for (let i = 0; i < 2000; i++) fn(); // warm-up (JIT, caches)
  let batch = 1000;
  let calls = 0;
  const limit = BigInt(Math.round(seconds * 1e9));
  const t0 = process.hrtime.bigint();
  let elapsed = 0n;
  while (elapsed < limit) {
    for (let i = 0; i < batch; i++) fn();
    calls += batch;
    elapsed = process.hrtime.bigint() - t0;
    if (elapsed < limit / 10n) batch *= 2;
  }
  return { ns: Number(elapsed) / calls, calls };
}

// The emitter child of the tests (line protocol of tests/README.md).
async function startChild(file) {
  const { ChildEmitter } = require('./test/helpers');
  const child = new ChildEmitter(file, 3600000);
  await child.started();
  await child.send('ready');
  return child;
}

async function main() {
  const { backends, seconds } = parseArgs(process.argv.slice(2));
  const dir = scratchDir();
  try {
    for (const backend of backends) {
      const api = lifesign.load({ backend });

      const watched = path.join(dir, `watched-${backend}.json`);
      const child = await startChild(watched);
      try {
        for (;;) {
          if (api.check(watched).state === 'ready') break;
          await new Promise((r) => setTimeout(r, 5));
        }
        let verdict = null;
        const c = measure(() => {
          verdict = api.check(watched).verdict;
        }, seconds);
        if (verdict !== 'alive') throw new Error(`check measured a ${verdict} heartbeat`);
        print(backend, 'check', c);
      } finally {
        await child.kill();
      }

      const own = path.join(dir, `beat-${backend}.json`);
      const e = api.start(own, { intervalMs: 3600000 });
      try {
        print(backend, 'beat', measure(() => e.beat(), seconds));
      } finally {
        e.close();
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function print(backend, op, m) {
  process.stdout.write(
    `${JSON.stringify({ lang: 'node', backend, op, ns_per_call: Math.round(m.ns), calls: m.calls })}\n`
  );
}

main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exit(1);
});
