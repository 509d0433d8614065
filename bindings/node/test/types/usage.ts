// Compiled with `tsc --noEmit` by run-tests.sh: the declarations in
// index.d.ts must accept this use of the API and reject the lines marked
// with @ts-expect-error.
import lifesign, { start, check, judge, waitReady, load, onLog, Report, Emitter, LifesignError, LogRecord, ErrorCode } from '../..';

const e: Emitter = start('/run/app/hb.json', { intervalMs: 1000, durable: true, s6: 3, systemd: false });
e.setState('ready', 'serving');
e.setState('failed');
e.setMeta('version', '1.0');
e.setMeta('version', null);
e.progress();
e.beat();
const failures: number = e.writeFailures();
e.stop();
e.close();

// @ts-expect-error: stopped is reached with stop(), not setState
e.setState('stopped');
// @ts-expect-error: intervalMs is a number
start('/x', { intervalMs: '1s' });

const r: Report = check('/run/app/hb.json', { maxAgeMs: 5000, pid: 42, stallMs: 60000 });
const judged: Report = judge(Buffer.from('{}'), { nowMs: 1, host: 'h', bootId: null, lock: 'held', process: 'exited' }, { maxAgeMs: 5 });
void judge(null, {});
// @ts-expect-error: not a lock state
judge('{}', { lock: 'locked' });
void judged;
const verdict: 'alive' | 'missing' | 'invalid' | 'pid_mismatch' | 'stopped' | 'failed' | 'process_gone' | 'future' | 'stale' | 'stalled' = r.verdict;
const state: string | null = r.state;
const shape: 'none' | 'v1' | 'plain' | 'timestamp' | 'camel' = r.shape;
const io: -2 = lifesign.constants.LIFESIGN_ERR_IO;
// @ts-expect-error: not a verdict
const notVerdict: Report['verdict'] = 'sleeping';
// @ts-expect-error: not a constant of lifesign.h
void lifesign.constants.LIFESIGN_NO_SUCH_CODE;
const seq: number = r.seq;

async function main(): Promise<void> {
  const ac = new AbortController();
  try {
    const ready: Report = await waitReady('/run/app/hb.json', { timeoutMs: 10000, idleTimeoutMs: 3000, signal: ac.signal });
    void ready.state;
  } catch (err) {
    const le = err as LifesignError;
    if (le.code === 'LIFESIGN_ERR_TIMEOUT' && le.report) void le.report.verdict;
  }
  const api = load({ backend: 'ffi-napi' });
  const maybe: Emitter | null = api.startFromEnv();
  void maybe;
  void lifesign.version();
  // @ts-expect-error: no such backend
  load({ backend: 'ctypes' });
}

void [failures, verdict, state, shape, io, notVerdict, seq, main];

// The library's log, on the main thread.
void onLog((r: LogRecord) => {
  const level: 'warn' | 'info' | 'debug' = r.level;
  const text: string = r.message;
  void level;
  void text;
}, { level: 'debug' });
void onLog(null, { level: 'off' });
// @ts-expect-error: not a log level
void onLog(null, { level: 'loud' });

// `using` closes the emitter at the end of the block (README).
function scoped(): void {
  using hb = lifesign.start('/run/app/hb.json');
  hb.setState('ready');
}
async function scopedAsync(): Promise<void> {
  await using hb = start('/run/app/hb.json');
  hb.progress();
}
void [scoped, scopedAsync];

// LifesignError is a class: instanceof narrows, code is typed.
try {
  check('/run/app/hb.json');
} catch (err) {
  if (err instanceof LifesignError) {
    const code: ErrorCode = err.code;
    const name: 'LifesignError' | 'AbortError' = err.name;
    void [code, name, err.report?.verdict];
  }
}
void new lifesign.LifesignError('x', { code: 'LIFESIGN_ERR_IO' });
// @ts-expect-error: not an error code
void new LifesignError('x', { code: 'LIFESIGN_ERR_NOPE' });
