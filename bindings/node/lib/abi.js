// Generated from include/lifesign.h by `make bindings` (bindings/gen/bindgen.py); do not edit.
'use strict';

// The C declarations of include/lifesign.h as data, read by both FFI
// backends (lib/backend-koffi.js, lib/backend-ffi-napi.js) and the struct
// codec (lib/codec.js). A type is { kind, name, pointers, const, length }:
// kind 'scalar' (name a C scalar: 'int32_t', 'char', 'void', ...), 'struct',
// 'opaque' or 'callback' (name the C type name); pointers the number of '*';
// const whether the base type is const; length the element count of a
// fixed array, else null.

// #define integers, static consts and enum values, as in the header.
const constants = {
  LIFESIGN_VERSION_MAJOR: 0,
  LIFESIGN_VERSION_MINOR: 2,
  LIFESIGN_VERSION_PATCH: 0,
  LIFESIGN_OK: 0,
  LIFESIGN_ERR_INVALID_ARGUMENT: -1,
  LIFESIGN_ERR_IO: -2,
  LIFESIGN_ERR_STATE: -3,
  LIFESIGN_ERR_PANIC: -4,
  LIFESIGN_ERR_TIMEOUT: -5,
  LIFESIGN_ERR_CANCELLED: -6,
  LIFESIGN_ERR_CANNOT_TELL: -7,
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
  LIFESIGN_LOCK_UNKNOWN: 0,
  LIFESIGN_LOCK_HELD: 1,
  LIFESIGN_LOCK_FREE: 2,
  LIFESIGN_LOCK_ABSENT: 3,
  LIFESIGN_PROCESS_UNKNOWN: 0,
  LIFESIGN_PROCESS_RUNNING: 1,
  LIFESIGN_PROCESS_EXITED: 2,
  LIFESIGN_OPT_DURABLE: 1,
  LIFESIGN_OPT_REMOVE_ON_STOP: 2,
  LIFESIGN_OPT_NO_SYSTEMD: 4,
  LIFESIGN_OPT_NO_S6: 8,
  LIFESIGN_OPT_WATCHDOG_TRIGGER: 16,
  LIFESIGN_OPT_WATCHDOG_ON_PROGRESS: 32,
  LIFESIGN_OPT_NO_LOCK: 64,
  LIFESIGN_LOG_OFF: 0,
  LIFESIGN_LOG_WARN: 1,
  LIFESIGN_LOG_INFO: 2,
  LIFESIGN_LOG_DEBUG: 3,
};

// #define strings.
const strings = {
  LIFESIGN_VERSION_STRING: '0.2.0',
};

// C enums: name -> { enumerator: value }.
const enums = {
};

const opaque = ['lifesign_cancel', 'lifesign_emitter'];

// Every type used below, by its C spelling.
const t = {
  'void': { kind: 'scalar', name: 'void', pointers: 0, const: false, length: null },
  'void *': { kind: 'scalar', name: 'void', pointers: 1, const: false, length: null },
  'int32_t': { kind: 'scalar', name: 'int32_t', pointers: 0, const: false, length: null },
  'const char *': { kind: 'scalar', name: 'char', pointers: 1, const: true, length: null },
  'uint32_t': { kind: 'scalar', name: 'uint32_t', pointers: 0, const: false, length: null },
  'uint64_t': { kind: 'scalar', name: 'uint64_t', pointers: 0, const: false, length: null },
  'lifesign_error_fn': { kind: 'callback', name: 'lifesign_error_fn', pointers: 0, const: false, length: null },
  'int64_t': { kind: 'scalar', name: 'int64_t', pointers: 0, const: false, length: null },
  'char[256]': { kind: 'scalar', name: 'char', pointers: 0, const: false, length: 256 },
  'lifesign_emitter **': { kind: 'opaque', name: 'lifesign_emitter', pointers: 2, const: false, length: null },
  'lifesign_options *': { kind: 'struct', name: 'lifesign_options', pointers: 1, const: false, length: null },
  'const lifesign_options *': { kind: 'struct', name: 'lifesign_options', pointers: 1, const: true, length: null },
  'lifesign_emitter *': { kind: 'opaque', name: 'lifesign_emitter', pointers: 1, const: false, length: null },
  'const lifesign_emitter *': { kind: 'opaque', name: 'lifesign_emitter', pointers: 1, const: true, length: null },
  'uint64_t *': { kind: 'scalar', name: 'uint64_t', pointers: 1, const: false, length: null },
  'lifesign_report *': { kind: 'struct', name: 'lifesign_report', pointers: 1, const: false, length: null },
  'lifesign_facts *': { kind: 'struct', name: 'lifesign_facts', pointers: 1, const: false, length: null },
  'const uint8_t *': { kind: 'scalar', name: 'uint8_t', pointers: 1, const: true, length: null },
  'size_t': { kind: 'scalar', name: 'size_t', pointers: 0, const: false, length: null },
  'const lifesign_facts *': { kind: 'struct', name: 'lifesign_facts', pointers: 1, const: true, length: null },
  'lifesign_cancel **': { kind: 'opaque', name: 'lifesign_cancel', pointers: 2, const: false, length: null },
  'lifesign_cancel *': { kind: 'opaque', name: 'lifesign_cancel', pointers: 1, const: false, length: null },
  'const lifesign_cancel *': { kind: 'opaque', name: 'lifesign_cancel', pointers: 1, const: true, length: null },
  'lifesign_log_fn': { kind: 'callback', name: 'lifesign_log_fn', pointers: 0, const: false, length: null },
};

// Function-pointer typedefs.
const callbacks = {
  lifesign_error_fn: {
    result: t['void'],
    params: [
      { name: 'user_data', type: t['void *'] },
      { name: 'code', type: t['int32_t'] },
      { name: 'message', type: t['const char *'] },
    ],
  },
  lifesign_log_fn: {
    result: t['void'],
    params: [
      { name: 'user_data', type: t['void *'] },
      { name: 'level', type: t['int32_t'] },
      { name: 'message', type: t['const char *'] },
    ],
  },
};

// Struct members in order.
const structs = {
  lifesign_options: [
    { name: 'size', type: t['uint32_t'] },
    { name: 'interval_ms', type: t['uint32_t'] },
    { name: 'mode', type: t['uint32_t'] },
    { name: 'flags', type: t['uint32_t'] },
    { name: 'stale_after_ms', type: t['uint64_t'] },
    { name: 'notify_fd', type: t['int32_t'] },
    { name: 'reserved', type: t['uint32_t'] },
    { name: 'on_error', type: t['lifesign_error_fn'] },
    { name: 'user_data', type: t['void *'] },
  ],
  lifesign_report: [
    { name: 'size', type: t['uint32_t'] },
    { name: 'verdict', type: t['int32_t'] },
    { name: 'state', type: t['int32_t'] },
    { name: 'shape', type: t['int32_t'] },
    { name: 'pid', type: t['int64_t'] },
    { name: 'seq', type: t['uint64_t'] },
    { name: 'progress', type: t['uint64_t'] },
    { name: 'updated_at_ms', type: t['uint64_t'] },
    { name: 'age_ms', type: t['uint64_t'] },
    { name: 'interval_ms', type: t['uint64_t'] },
    { name: 'progress_at_ms', type: t['uint64_t'] },
    { name: 'progress_age_ms', type: t['uint64_t'] },
    { name: 'max_age_ms', type: t['uint64_t'] },
    { name: 'message', type: t['char[256]'] },
    { name: 'detail', type: t['char[256]'] },
  ],
  lifesign_facts: [
    { name: 'size', type: t['uint32_t'] },
    { name: 'lock', type: t['int32_t'] },
    { name: 'process', type: t['int32_t'] },
    { name: 'reserved', type: t['uint32_t'] },
    { name: 'now_ms', type: t['uint64_t'] },
    { name: 'mono_ms', type: t['uint64_t'] },
    { name: 'process_start', type: t['uint64_t'] },
    { name: 'pid_ns', type: t['uint64_t'] },
    { name: 'time_ns', type: t['uint64_t'] },
    { name: 'host', type: t['const char *'] },
    { name: 'boot_id', type: t['const char *'] },
    { name: 'max_age_ms', type: t['uint64_t'] },
    { name: 'expected_pid', type: t['int64_t'] },
    { name: 'stall_ms', type: t['uint64_t'] },
  ],
};

// Every exported function.
const functions = {
  lifesign_version: {
    result: t['const char *'],
    params: [
    ],
  },
  lifesign_start: {
    result: t['int32_t'],
    params: [
      { name: 'path', type: t['const char *'] },
      { name: 'interval_ms', type: t['uint32_t'] },
      { name: 'out', type: t['lifesign_emitter **'] },
    ],
  },
  lifesign_options_init: {
    result: t['void'],
    params: [
      { name: 'opts', type: t['lifesign_options *'] },
    ],
  },
  lifesign_start_with: {
    result: t['int32_t'],
    params: [
      { name: 'path', type: t['const char *'] },
      { name: 'opts', type: t['const lifesign_options *'] },
      { name: 'out', type: t['lifesign_emitter **'] },
    ],
  },
  lifesign_start_from_env: {
    result: t['int32_t'],
    params: [
      { name: 'out', type: t['lifesign_emitter **'] },
    ],
  },
  lifesign_beat: {
    result: t['int32_t'],
    params: [
      { name: 'e', type: t['lifesign_emitter *'] },
    ],
  },
  lifesign_set_state: {
    result: t['int32_t'],
    params: [
      { name: 'e', type: t['lifesign_emitter *'] },
      { name: 'state', type: t['int32_t'] },
      { name: 'message', type: t['const char *'] },
    ],
  },
  lifesign_reload: {
    result: t['int32_t'],
    params: [
      { name: 'e', type: t['lifesign_emitter *'] },
      { name: 'message', type: t['const char *'] },
    ],
  },
  lifesign_set_meta: {
    result: t['int32_t'],
    params: [
      { name: 'e', type: t['lifesign_emitter *'] },
      { name: 'key', type: t['const char *'] },
      { name: 'value', type: t['const char *'] },
    ],
  },
  lifesign_progress: {
    result: t['int32_t'],
    params: [
      { name: 'e', type: t['lifesign_emitter *'] },
    ],
  },
  lifesign_write_failures: {
    result: t['int32_t'],
    params: [
      { name: 'e', type: t['const lifesign_emitter *'] },
      { name: 'out', type: t['uint64_t *'] },
    ],
  },
  lifesign_stop: {
    result: t['int32_t'],
    params: [
      { name: 'e', type: t['lifesign_emitter *'] },
    ],
  },
  lifesign_free: {
    result: t['void'],
    params: [
      { name: 'e', type: t['lifesign_emitter *'] },
    ],
  },
  lifesign_is_alive: {
    result: t['int32_t'],
    params: [
      { name: 'path', type: t['const char *'] },
      { name: 'max_age_ms', type: t['uint64_t'] },
    ],
  },
  lifesign_report_init: {
    result: t['void'],
    params: [
      { name: 'out', type: t['lifesign_report *'] },
    ],
  },
  lifesign_check: {
    result: t['int32_t'],
    params: [
      { name: 'path', type: t['const char *'] },
      { name: 'max_age_ms', type: t['uint64_t'] },
      { name: 'expected_pid', type: t['int64_t'] },
      { name: 'out', type: t['lifesign_report *'] },
    ],
  },
  lifesign_check_stall: {
    result: t['int32_t'],
    params: [
      { name: 'path', type: t['const char *'] },
      { name: 'max_age_ms', type: t['uint64_t'] },
      { name: 'expected_pid', type: t['int64_t'] },
      { name: 'stall_ms', type: t['uint64_t'] },
      { name: 'out', type: t['lifesign_report *'] },
    ],
  },
  lifesign_facts_init: {
    result: t['void'],
    params: [
      { name: 'facts', type: t['lifesign_facts *'] },
    ],
  },
  lifesign_judge: {
    result: t['int32_t'],
    params: [
      { name: 'record', type: t['const uint8_t *'] },
      { name: 'len', type: t['size_t'] },
      { name: 'facts', type: t['const lifesign_facts *'] },
      { name: 'out', type: t['lifesign_report *'] },
    ],
  },
  lifesign_wait_ready: {
    result: t['int32_t'],
    params: [
      { name: 'path', type: t['const char *'] },
      { name: 'expected_pid', type: t['int64_t'] },
      { name: 'idle_timeout_ms', type: t['uint64_t'] },
      { name: 'timeout_ms', type: t['uint64_t'] },
      { name: 'out', type: t['lifesign_report *'] },
    ],
  },
  lifesign_cancel_new: {
    result: t['int32_t'],
    params: [
      { name: 'out', type: t['lifesign_cancel **'] },
    ],
  },
  lifesign_cancel_trigger: {
    result: t['int32_t'],
    params: [
      { name: 'c', type: t['lifesign_cancel *'] },
    ],
  },
  lifesign_cancel_free: {
    result: t['void'],
    params: [
      { name: 'c', type: t['lifesign_cancel *'] },
    ],
  },
  lifesign_wait_ready_cancel: {
    result: t['int32_t'],
    params: [
      { name: 'path', type: t['const char *'] },
      { name: 'expected_pid', type: t['int64_t'] },
      { name: 'idle_timeout_ms', type: t['uint64_t'] },
      { name: 'timeout_ms', type: t['uint64_t'] },
      { name: 'cancel', type: t['const lifesign_cancel *'] },
      { name: 'out', type: t['lifesign_report *'] },
    ],
  },
  lifesign_verdict_name: {
    result: t['const char *'],
    params: [
      { name: 'verdict', type: t['int32_t'] },
    ],
  },
  lifesign_state_name: {
    result: t['const char *'],
    params: [
      { name: 'state', type: t['int32_t'] },
    ],
  },
  lifesign_shape_name: {
    result: t['const char *'],
    params: [
      { name: 'shape', type: t['int32_t'] },
    ],
  },
  lifesign_error_name: {
    result: t['const char *'],
    params: [
      { name: 'code', type: t['int32_t'] },
    ],
  },
  lifesign_last_error: {
    result: t['const char *'],
    params: [
    ],
  },
  lifesign_set_log_handler: {
    result: t['int32_t'],
    params: [
      { name: 'handler', type: t['lifesign_log_fn'] },
      { name: 'user_data', type: t['void *'] },
      { name: 'max_level', type: t['int32_t'] },
    ],
  },
  lifesign_log_level_name: {
    result: t['const char *'],
    params: [
      { name: 'level', type: t['int32_t'] },
    ],
  },
};

function deepFreeze(o) {
  if (o !== null && typeof o === 'object') {
    Object.values(o).forEach(deepFreeze);
    Object.freeze(o);
  }
  return o;
}

module.exports = deepFreeze({ constants, strings, enums, opaque, callbacks, structs, functions });
