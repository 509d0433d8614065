// Type declarations for lifesign (Node.js binding of the lifesign C library).
//
// Every 64-bit field of the C ABI (pid, seq, progress, times in ms) is a
// JavaScript number: exact up to Number.MAX_SAFE_INTEGER (2^53 - 1), which
// is about 285,000 years of milliseconds. Arguments beyond that are refused.

/// <reference types="node" />

// The constants come from lib/abi.d.ts, generated from lifesign.h.
import type { Constants, ConstantName, StructName } from './lib/abi';

/** The library's name of each code of a family: LIFESIGN_VERDICT_PID_MISMATCH -> 'pid_mismatch'. */
type CodeName<N, Prefix extends string> = N extends `${Prefix}${infer S}` ? Lowercase<S> : never;

export type Verdict = CodeName<ConstantName, 'LIFESIGN_VERDICT_'>;

export type State = CodeName<ConstantName, 'LIFESIGN_STATE_'>;

export type Shape = CodeName<ConstantName, 'LIFESIGN_SHAPE_'>;

export type BackendName = 'koffi' | 'ffi-napi';

/** A level of the library's log: 'off' | 'warn' | 'info' | 'debug' (LIFESIGN_LOG_*). */
export type LogLevel = CodeName<ConstantName, 'LIFESIGN_LOG_'>;

/** One message of the library's log, as given to an onLog listener. */
export interface LogRecord {
  level: Exclude<LogLevel, 'off'>;
  /** One line, without a prefix. */
  message: string;
}

export type LogListener = (record: LogRecord) => void;

export interface LogOptions {
  /** The most detailed level the library logs; default 'warn'. 'off' silences the library. */
  level?: LogLevel;
}

/** The codes of errors thrown or rejected by this package. */
export type ErrorCode =
  | Extract<ConstantName, `LIFESIGN_ERR_${string}`>
  | 'LIFESIGN_ERR_LIBRARY_NOT_FOUND'
  | 'LIFESIGN_ERR_LIBRARY_VERSION'
  | 'LIFESIGN_ERR_BACKEND_UNAVAILABLE';

/**
 * The error of every failed call, bad argument, wait without a decision and
 * failure to load the library: `err instanceof LifesignError` holds, `code`
 * names it. An aborted wait is a LifesignError whose `name` is 'AbortError'.
 */
export class LifesignError extends Error {
  constructor(
    message: string,
    details?: { code: ErrorCode; rc?: number; report?: Report; cause?: unknown; name?: 'LifesignError' | 'AbortError' }
  );
  /** 'AbortError' for an aborted wait, else 'LifesignError'. */
  name: 'LifesignError' | 'AbortError';
  /** The library's name of the error, e.g. 'LIFESIGN_ERR_IO'. */
  code: ErrorCode;
  /** The C return code (absent for the loading errors). */
  rc?: number;
  /** check() failures and rejected waits: what the library last saw. */
  report?: Report;
}

/** What a check (or a wait) found: lifesign_report as a plain object. */
export interface Report {
  verdict: Verdict;
  /** null when the file did not parse. */
  state: State | null;
  pid: number;
  seq: number;
  progress: number;
  /** 0 when the timestamp is in the future. */
  ageMs: number;
  updatedAtMs: number;
  /** 0 when the file has none. */
  intervalMs: number;
  /** At most 255 bytes of UTF-8. */
  message: string;
  /** 0 when the file has none. */
  progressAtMs: number;
  /** 0 when the file has none or it is in the future. */
  progressAgeMs: number;
  /** The max age the verdict applied. */
  maxAgeMs: number;
  shape: Shape;
  /** Why the verdict is what it is (empty when alive). */
  detail: string;
}

export interface StartOptions {
  /** Beat period; 0 or absent = 1000; clamped by the library to [10 ms, 1 h]. */
  intervalMs?: number;
  /** Permission bits of the file; 0 or absent = 0o644. */
  mode?: number;
  /** fsync the temporary file and the folder on every write. */
  durable?: boolean;
  /** Remove the file after the final `stopped` write. */
  removeOnStop?: boolean;
  /** The staleness promise written to the file; 0 or absent = 3 x interval. */
  staleAfterMs?: number;
  /** false: ignore NOTIFY_SOCKET / WATCHDOG_USEC. Default true. */
  systemd?: boolean;
  /** true: send WATCHDOG=trigger to systemd when the state becomes failed. */
  watchdogTrigger?: boolean;
  /** true: send WATCHDOG=1 only when progress() was called since the last ping (an idle service must count progress, or systemd restarts it). */
  watchdogOnProgress?: boolean;
  /** s6 readiness: true (default) takes LIFESIGN_NOTIFY_FD, false ignores it, a number is the descriptor. */
  s6?: boolean | number;
}

export interface CheckOptions {
  /** 0 or absent: the file's own rule. */
  maxAgeMs?: number;
  /** 0 or absent: any PID. */
  pid?: number;
  /** Non-zero: `stalled` when progress has not moved for this long. */
  stallMs?: number;
}

export interface WaitOptions {
  /** 0 or absent: any PID. */
  pid?: number;
  /** 0 or absent: none. No new heartbeat for this long rejects with LIFESIGN_ERR_TIMEOUT (report.verdict 'stale'). */
  idleTimeoutMs?: number;
  /** 0 or absent: none. The hard timeout: rejects with LIFESIGN_ERR_TIMEOUT (the last report). */
  timeoutMs?: number;
  /** Aborting it rejects the promise with an AbortError. */
  signal?: AbortSignal;
}

/**
 * A running emitter, made by start() or startFromEnv(). It runs until
 * close() or stop(), or until the process exits; garbage collection never
 * stops it. At exit without close() nothing more is written: the file keeps
 * its last state, and checkers say `process_gone`. `using hb = start(...)`
 * closes it at the end of the block.
 */
export interface Emitter extends Disposable, AsyncDisposable {
  /** The heartbeat file (from LIFESIGN_FILE for startFromEnv()). */
  readonly path: string | null;
  /** true after close(). */
  readonly closed: boolean;
  /** Writes a heartbeat now. */
  beat(): void;
  /** Changes the state and writes at once. `message` undefined keeps the current one, '' clears it. 'stopped' is written by stop() and close() only. */
  setState(state: Exclude<State, 'stopped'> | number, message?: string | null): void;
  /** Announces a reload: state `starting` (message as in setState), RELOADING=1 with MONOTONIC_USEC to systemd; setState('ready') when done sends READY=1 again. */
  reload(message?: string | null): void;
  /** Sets meta[key], written with the next beat; null or undefined removes the key. */
  setMeta(key: string, value?: string | null): void;
  /** Counts one unit of work in memory; the next beat records it. */
  progress(): void;
  /** How many heartbeat writes have failed since start. */
  writeFailures(): number;
  /** Writes `stopped` and ends the background beats; idempotent. */
  stop(): void;
  /** Stops (if running) and releases the emitter; idempotent. Any other call afterwards throws LIFESIGN_ERR_STATE. */
  close(): void;
  /** close(), for `using`. */
  [Symbol.dispose](): void;
  /** close(), for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

export interface Api {
  /** The backend in use. */
  readonly backend: BackendName;
  /** The path of the loaded C library. */
  readonly libraryPath: string;
  start(path: string, options?: StartOptions): Emitter;
  /** null when LIFESIGN_FILE is unset or empty. */
  startFromEnv(): Emitter | null;
  check(path: string, options?: CheckOptions): Report;
  judge(record: Uint8Array | string | null, facts: Facts, options?: CheckOptions): Report;
  isAlive(path: string, maxAgeMs?: number): boolean;
  waitReady(path: string, options?: WaitOptions): Promise<Report>;
  version(): string;
  onLog(listener: LogListener | null, options?: LogOptions): Promise<void>;
  verdictName(code: number): string;
  stateName(code: number): string;
  shapeName(code: number): string;
  errorName(code: number): string;
  readonly layout: {
    sizeOf(struct: StructName): number;
    offsetOf(struct: StructName, field: string): number;
  };
}

export interface LoadOptions {
  /** Default: $LIFESIGN_NODE_BACKEND, else 'koffi'. */
  backend?: BackendName;
  /** Path of liblifesign; default: $LIFESIGN_LIB, the repository build, the system library path. */
  libPath?: string;
}

/** Loads the library on a backend (cached per backend and path). */
export function load(options?: LoadOptions): Api;

/** Starts an emitter; the first heartbeat (state starting, seq 1) is written before it returns. */
export function start(path: string, options?: StartOptions): Emitter;
/** Starts an emitter from LIFESIGN_FILE and LIFESIGN_INTERVAL_MS; null when LIFESIGN_FILE is unset or empty. */
export function startFromEnv(): Emitter | null;
/** Checks the heartbeat file; the report is returned whatever the verdict. */
export function check(path: string, options?: CheckOptions): Report;
/** What a reader found at a record's lifetime lock (docs/PROTOCOL.md section 10). */
export type LockState = 'unknown' | 'held' | 'free' | 'absent';
/** What a reader found about the process a record names. */
export type ProcessState = 'unknown' | 'running' | 'exited';

/**
 * What a reader observed of the world, for judge() (lifesign_facts). Every
 * absent, 0 or '' member means "not known" and errs on the side that decides
 * nothing: an unknown host or PID namespace makes a record that names one
 * "not written here", an unknown boot id or time namespace keeps ages on the
 * wall clock and the lock unused.
 */
export interface Facts {
  /** The reader's wall clock, Unix ms. */
  nowMs?: number;
  /** The reader's CLOCK_MONOTONIC, ms. */
  monoMs?: number;
  /** The reader's hostname. */
  host?: string | null;
  /** The reader's boot id (/proc/sys/kernel/random/boot_id). */
  bootId?: string | null;
  /** The inode of the reader's PID namespace. */
  pidNs?: number;
  /** The inode of the reader's time namespace. */
  timeNs?: number;
  /** Default 'unknown'. */
  lock?: LockState;
  /** Default 'unknown'. */
  process?: ProcessState;
  /** The start time of the record's PID (field 22 of /proc/PID/stat), compared with its pid_start. */
  processStart?: number;
}

/**
 * The verdict of a heartbeat record's bytes under the facts a reader
 * observed: the report check() would give for a file holding record, read
 * by a checker that saw what facts says. null is no file ('missing'). Opens
 * no file, probes no process. Throws a LifesignError only for bad arguments.
 */
export function judge(record: Uint8Array | string | null, facts: Facts, options?: CheckOptions): Report;
/** true when the verdict is `alive`. */
export function isAlive(path: string, maxAgeMs?: number): boolean;
/**
 * Waits on a worker thread until the emitter is ready or never will be.
 * Resolves with the report when the emitter's file decided (ready, or
 * failed, stopped, process_gone, pid_mismatch: read verdict and state).
 * Rejects with a LifesignError when the waiter gives up: code
 * LIFESIGN_ERR_TIMEOUT at either timeout (timeoutMs, or idleTimeoutMs with
 * report.verdict 'stale'), an AbortError (code LIFESIGN_ERR_CANCELLED)
 * when the signal aborts.
 */
export function waitReady(path: string, options?: WaitOptions): Promise<Report>;
/** The C library version, e.g. "0.1.0". */
export function version(): string;
/**
 * Routes the library's log messages (process-wide) to listener, called on
 * the main thread for each message up to options.level (default 'warn').
 * null restores the library's default, stderr as "lifesign: <message>", at
 * options.level; level 'off' silences the library. Resolves once the new
 * route is in place; the previous listener hears nothing after that.
 */
export function onLog(listener: LogListener | null, options?: LogOptions): Promise<void>;

/** The integer constants of lifesign.h (#define and enum values), e.g. constants.LIFESIGN_ERR_IO. */
export const constants: Constants;
/** "LIFESIGN_NODE_BACKEND" */
export const ENV_BACKEND: string;
/** "LIFESIGN_LIB" */
export const ENV_LIB: string;

declare const lifesign: {
  load: typeof load;
  start: typeof start;
  startFromEnv: typeof startFromEnv;
  check: typeof check;
  judge: typeof judge;
  isAlive: typeof isAlive;
  waitReady: typeof waitReady;
  version: typeof version;
  onLog: typeof onLog;
  constants: typeof constants;
  LifesignError: typeof LifesignError;
  ENV_BACKEND: typeof ENV_BACKEND;
  ENV_LIB: typeof ENV_LIB;
};
export default lifesign;
