// The install round trip in TypeScript, type-checked against the package's
// index.d.ts (strict), compiled with tsc and run; with a `using` block.
import { spawn } from 'node:child_process';
import lifesign, { Report } from 'lifesign';

async function main(path: string): Promise<void> {
  const child = spawn(process.execPath, [`${__dirname}/roundtrip.cjs`, 'emit', path], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', () => reject(new Error('the emitter exited before it started')));
  });
  let r: Report = await lifesign.waitReady(path, { pid: child.pid, timeoutMs: 60000 });
  if (r.verdict !== 'alive' || r.state !== 'ready') throw new Error(`wait: ${r.verdict}/${r.state}`);
  r = lifesign.check(path, { pid: child.pid });
  if (r.verdict !== 'alive' || r.state !== 'ready') throw new Error(`check: ${r.verdict}/${r.state}`);
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  r = lifesign.check(path);
  if (r.verdict !== 'process_gone') throw new Error(`after kill -9: ${r.verdict}`);
  // `using` closes an emitter at the end of its block (the types make it pass --strict).
  {
    using hb = lifesign.start(`${path}.using`);
    hb.setState('ready');
  }
  r = lifesign.check(`${path}.using`);
  if (r.verdict !== 'stopped') throw new Error(`after using: ${r.verdict}`);
  console.log(`library: ${lifesign.load().libraryPath}\nround trip: ok`);
}

main(process.argv[2]).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
