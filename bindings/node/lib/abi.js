'use strict';

// The C declarations of include/lifesign.h, copied as they are written there.
// Both FFI backends are generated from this one table, and
// test/abi-table.test.js compares it with the header, so neither backend can
// drift from the contract.

const constants = Object.freeze({
  LIFESIGN_OK: 0,
  LIFESIGN_ERR_INVALID_ARGUMENT: -1,
  LIFESIGN_ERR_IO: -2,
  LIFESIGN_ERR_STATE: -3,
  LIFESIGN_ERR_PANIC: -4,
  LIFESIGN_ERR_TIMEOUT: -5,
  LIFESIGN_ERR_CANCELLED: -6,

  LIFESIGN_STATE_STARTING: 0,
  LIFESIGN_STATE_READY: 1,
  LIFESIGN_STATE_STOPPING: 2,
  LIFESIGN_STATE_STOPPED: 3,
  LIFESIGN_STATE_FAILED: 4,

  LIFESIGN_VERDICT_ALIVE: 0,
  LIFESIGN_VERDICT_MISSING: 1,
  LIFESIGN_VERDICT_INVALID: 2,
  LIFESIGN_VERDICT_PID_MISMATCH: 3,
  LIFESIGN_VERDICT_STOPPED: 4,
  LIFESIGN_VERDICT_FAILED: 5,
  LIFESIGN_VERDICT_PROCESS_GONE: 6,
  LIFESIGN_VERDICT_FUTURE: 7,
  LIFESIGN_VERDICT_STALE: 8,
  LIFESIGN_VERDICT_STALLED: 9,

  LIFESIGN_SHAPE_NONE: 0,
  LIFESIGN_SHAPE_V1: 1,
  LIFESIGN_SHAPE_PLAIN: 2,
  LIFESIGN_SHAPE_TIMESTAMP: 3,
  LIFESIGN_SHAPE_CAMEL: 4,

  LIFESIGN_OPT_DURABLE: 1,
  LIFESIGN_OPT_REMOVE_ON_STOP: 2,
  LIFESIGN_OPT_NO_SYSTEMD: 4,
  LIFESIGN_OPT_NO_S6: 8,
  LIFESIGN_OPT_WATCHDOG_TRIGGER: 16,
  LIFESIGN_OPT_NO_LOCK: 32,
});

// typedef struct NAME NAME; /* opaque */
const opaque = Object.freeze(['lifesign_emitter', 'lifesign_cancel']);

// typedef RET (*NAME)(PARAMS);
const callbacks = Object.freeze([
  'void (*lifesign_error_fn)(void *user_data, int32_t code, const char *message)',
]);

// typedef struct NAME { MEMBERS } NAME;  (one C member declaration a line)
const structs = Object.freeze({
  lifesign_options: Object.freeze([
    'uint32_t size',
    'uint32_t interval_ms',
    'uint32_t mode',
    'uint32_t flags',
    'uint64_t stale_after_ms',
    'int32_t notify_fd',
    'uint32_t reserved',
    'lifesign_error_fn on_error',
    'void *user_data',
  ]),
  lifesign_report: Object.freeze([
    'int32_t verdict',
    'int32_t state',
    'int64_t pid',
    'uint64_t seq',
    'uint64_t progress',
    'uint64_t updated_at_ms',
    'uint64_t age_ms',
    'uint64_t interval_ms',
    'char message[256]',
    'uint64_t progress_at_ms',
    'uint64_t progress_age_ms',
    'uint64_t max_age_ms',
    'int32_t shape',
    'int32_t reserved',
  ]),
});

// Every exported function, with the parameter names of the header.
const functions = Object.freeze([
  'const char *lifesign_version(void)',
  'int32_t lifesign_start(const char *path, uint32_t interval_ms, lifesign_emitter **out)',
  'void lifesign_options_init(lifesign_options *opts)',
  'int32_t lifesign_start_with(const char *path, const lifesign_options *opts, lifesign_emitter **out)',
  'int32_t lifesign_start_from_env(lifesign_emitter **out)',
  'int32_t lifesign_beat(lifesign_emitter *e)',
  'int32_t lifesign_set_state(lifesign_emitter *e, int32_t state, const char *message)',
  'int32_t lifesign_set_meta(lifesign_emitter *e, const char *key, const char *value)',
  'int32_t lifesign_progress(lifesign_emitter *e)',
  'int32_t lifesign_write_failures(const lifesign_emitter *e, uint64_t *out)',
  'int32_t lifesign_stop(lifesign_emitter *e)',
  'void lifesign_free(lifesign_emitter *e)',

  'int32_t lifesign_is_alive(const char *path, uint64_t max_age_ms)',
  'int32_t lifesign_check(const char *path, uint64_t max_age_ms, int64_t expected_pid, lifesign_report *out)',
  'int32_t lifesign_check_stall(const char *path, uint64_t max_age_ms, int64_t expected_pid, uint64_t stall_ms, lifesign_report *out)',

  'int32_t lifesign_wait_ready(const char *path, int64_t expected_pid, uint64_t idle_timeout_ms, uint64_t timeout_ms, lifesign_report *out)',
  'int32_t lifesign_cancel_new(lifesign_cancel **out)',
  'int32_t lifesign_cancel_trigger(lifesign_cancel *c)',
  'void lifesign_cancel_free(lifesign_cancel *c)',
  'int32_t lifesign_wait_ready_cancel(const char *path, int64_t expected_pid, uint64_t idle_timeout_ms, uint64_t timeout_ms, const lifesign_cancel *cancel, lifesign_report *out)',

  'const char *lifesign_verdict_name(int32_t verdict)',
  'const char *lifesign_state_name(int32_t state)',
  'const char *lifesign_shape_name(int32_t shape)',
  'const char *lifesign_error_name(int32_t code)',
  'const char *lifesign_last_error(void)',
]);

module.exports = { constants, opaque, callbacks, structs, functions };
