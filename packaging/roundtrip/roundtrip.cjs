'use strict';
// The install round trip of `make test-dist` for the npm package.
//   node roundtrip.cjs FILE       from CommonJS: require('lifesign')
//   node roundtrip.cjs emit FILE  the emitter child every round trip starts
// roundTrip() starts the child, waits for it to become ready, checks it,
// kills it with SIGKILL and reads process_gone; roundtrip.mjs calls it with
// the package's ES module exports.
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');

function firstLine(stream) {
  return new Promise((resolve, reject) => {
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (d) => {
      buf += d;
      if (buf.includes('\n')) resolve(buf.slice(0, buf.indexOf('\n')));
    });
    stream.on('end', () => reject(new Error('the emitter exited before it started')));
  });
}

async function roundTrip({ waitReady, check, load, version }, path) {
  const child = spawn(process.execPath, [__filename, 'emit', path], { stdio: ['ignore', 'pipe', 'inherit'] });
  assert.equal(await firstLine(child.stdout), 'started');
  let r = await waitReady(path, { pid: child.pid, timeoutMs: 60000 });
  assert.equal(`${r.verdict}/${r.state}`, 'alive/ready');
  r = check(path, { pid: child.pid });
  assert.equal(`${r.verdict}/${r.state}`, 'alive/ready');
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  assert.equal(check(path).verdict, 'process_gone');
  const api = load();
  console.log(`library: ${api.libraryPath}\nbackend: ${api.backend}\nversion: ${version()}\nround trip: ok`);
}

function run(promise) {
  promise.catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

module.exports = { roundTrip, run };

if (require.main === module) {
  const lifesign = require('lifesign');
  if (process.argv[2] === 'emit') {
    const e = lifesign.start(process.argv[3], { intervalMs: 1000 });
    console.log('started');
    e.setState('ready', 'serving');
    setInterval(() => {}, 1 << 30);
  } else {
    run(roundTrip(lifesign, process.argv[2]));
  }
}
