// Generated from include/lifesign.h by `make bindings` (bindings/gen/bindgen.py); do not edit.
'use strict';

// The C declarations of include/lifesign.h as data, read by both FFI
// backends (lib/backend-koffi.js, lib/backend-ffi-napi.js) and the struct
// codec (lib/codec.js). A type is { kind, name, pointers, const, length }:
// kind 'scalar' (name a C scalar: 'int32_t', 'char', 'void', ...), 'struct',
// 'opaque' or 'callback' (name the C type name); pointers the number of '*';
// const whether the base type is const; length the element count of a
// fixed array, else null.

// #define integers and enum values, as in the header.
const constants = {
  LIFESIGN_VERSION_MAJOR: 0,
  LIFESIGN_VERSION_MINOR: 1,
  LIFESIGN_VERSION_PATCH: 0,
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
};

// #define strings.
const strings = {
  LIFESIGN_VERSION_STRING: '0.1.0',
};

// C enums: name -> { enumerator: value }.
const enums = {
};

const opaque = ['lifesign_cancel', 'lifesign_emitter'];

// Function-pointer typedefs.
const callbacks = {
  lifesign_error_fn: {
    result: { kind: 'scalar', name: 'void', pointers: 0, const: false, length: null },
    params: [
      { name: 'user_data', type: { kind: 'scalar', name: 'void', pointers: 1, const: false, length: null } },
      { name: 'code', type: { kind: 'scalar', name: 'int32_t', pointers: 0, const: false, length: null } },
      { name: 'message', type: { kind: 'scalar', name: 'char', pointers: 1, const: true, length: null } },
    ],
  },
};

// Struct members in order.
const structs = {
  lifesign_options: [
    { name: 'size', type: { kind: 'scalar', name: 'uint32_t', pointers: 0, const: false, length: null } },
    { name: 'interval_ms', type: { kind: 'scalar', name: 'uint32_t', pointers: 0, const: false, length: null } },
    { name: 'mode', type: { kind: 'scalar', name: 'uint32_t', pointers: 0, const: false, length: null } },
    { name: 'flags', type: { kind: 'scalar', name: 'uint32_t', pointers: 0, const: false, length: null } },
    { name: 'stale_after_ms', type: { kind: 'scalar', name: 'uint64_t', pointers: 0, const: false, length: null } },
    { name: 'notify_fd', type: { kind: 'scalar', name: 'int32_t', pointers: 0, const: false, length: null } },
    { name: 'reserved', type: { kind: 'scalar', name: 'uint32_t', pointers: 0, const: false, length: null } },
    { name: 'on_error', type: { kind: 'callback', name: 'lifesign_error_fn', pointers: 0, const: false, length: null } },
    { name: 'user_data', type: { kind: 'scalar', name: 'void', pointers: 1, const: false, length: null } },
  ],
  lifesign_report: [
    { name: 'verdict', type: { kind: 'scalar', name: 'int32_t', pointers: 0, const: false, length: null } },
    { name: 'state', type: { kind: 'scalar', name: 'int32_t', pointers: 0, const: false, length: null } },
    { name: 'pid', type: { kind: 'scalar', name: 'int64_t', pointers: 0, const: false, length: null } },
    { name: 'seq', type: { kind: 'scalar', name: 'uint64_t', pointers: 0, const: false, length: null } },
    { name: 'progress', type: { kind: 'scalar', name: 'uint64_t', pointers: 0, const: false, length: null } },
    { name: 'updated_at_ms', type: { kind: 'scalar', name: 'uint64_t', pointers: 0, const: false, length: null } },
    { name: 'age_ms', type: { kind: 'scalar', name: 'uint64_t', pointers: 0, const: false, length: null } },
    { name: 'interval_ms', type: { kind: 'scalar', name: 'uint64_t', pointers: 0, const: false, length: null } },
    { name: 'message', type: { kind: 'scalar', name: 'char', pointers: 0, const: false, length: 256 } },
    { name: 'progress_at_ms', type: { kind: 'scalar', name: 'uint64_t', pointers: 0, const: false, length: null } },
    { name: 'progress_age_ms', type: { kind: 'scalar', name: 'uint64_t', pointers: 0, const: false, length: null } },
    { name: 'max_age_ms', type: { kind: 'scalar', name: 'uint64_t', pointers: 0, const: false, length: null } },
    { name: 'shape', type: { kind: 'scalar', name: 'int32_t', pointers: 0, const: false, length: null } },
    { name: 'reserved', type: { kind: 'scalar', name: 'int32_t', pointers: 0, const: false, length: null } },
  ],
};

// Every exported function.
const functions = {
  lifesign_version: {
    result: { kind: 'scalar', name: 'char', pointers: 1, const: true, length: null },
    params: [
    ],
  },
  lifesign_start: {
    result: { kind: 'scalar', name: 'int32_t', pointers: 0, const: false, length: null },
    params: [
      { name: 'path', type: { kind: 'scalar', name: 'char', pointers: 1, const: true, length: null } },
      { name: 'interval_ms', type: { kind: 'scalar', name: 'uint32_t', pointers: 0, const: false, length: null } },
      { name: 'out', type: { kind: 'opaque', name: 'lifesign_emitter', pointers: 2, const: false, length: null } },
    ],
  },
  lifesign_options_init: {
    result: { kind: 'scalar', name: 'void', pointers: 0, const: false, length: null },
    params: [
      { name: 'opts', type: { kind: 'struct', name: 'lifesign_options', pointers: 1, const: false, length: null } },
    ],
  },
  lifesign_start_with: {
    result: { kind: 'scalar', name: 'int32_t', pointers: 0, const: false, length: null },
    params: [
      { name: 'path', type: { kind: 'scalar', name: 'char', pointers: 1, const: true, length: null } },
      { name: 'opts', type: { kind: 'struct', name: 'lifesign_options', pointers: 1, const: true, length: null } },
      { name: 'out', type: { kind: 'opaque', name: 'lifesign_emitter', pointers: 2, const: false, length: null } },
    ],
  },
  lifesign_start_from_env: {
    result: { kind: 'scalar', name: 'int32_t', pointers: 0, const: false, length: null },
    params: [
      { name: 'out', type: { kind: 'opaque', name: 'lifesign_emitter', pointers: 2, const: false, length: null } },
    ],
  },
  lifesign_beat: {
    result: { kind: 'scalar', name: 'int32_t', pointers: 0, const: false, length: null },
    params: [
      { name: 'e', type: { kind: 'opaque', name: 'lifesign_emitter', pointers: 1, const: false, length: null } },
    ],
  },
  lifesign_set_state: {
    result: { kind: 'scalar', name: 'int32_t', pointers: 0, const: false, length: null },
    params: [
      { name: 'e', type: { kind: 'opaque', name: 'lifesign_emitter', pointers: 1, const: false, length: null } },
      { name: 'state', type: { kind: 'scalar', name: 'int32_t', pointers: 0, const: false, length: null } },
      { name: 'message', type: { kind: 'scalar', name: 'char', pointers: 1, const: true, length: null } },
    ],
  },
  lifesign_set_meta: {
    result: { kind: 'scalar', name: 'int32_t', pointers: 0, const: false, length: null },
    params: [
      { name: 'e', type: { kind: 'opaque', name: 'lifesign_emitter', pointers: 1, const: false, length: null } },
      { name: 'key', type: { kind: 'scalar', name: 'char', pointers: 1, const: true, length: null } },
      { name: 'value', type: { kind: 'scalar', name: 'char', pointers: 1, const: true, length: null } },
    ],
  },
  lifesign_progress: {
    result: { kind: 'scalar', name: 'int32_t', pointers: 0, const: false, length: null },
    params: [
      { name: 'e', type: { kind: 'opaque', name: 'lifesign_emitter', pointers: 1, const: false, length: null } },
    ],
  },
  lifesign_write_failures: {
    result: { kind: 'scalar', name: 'int32_t', pointers: 0, const: false, length: null },
    params: [
      { name: 'e', type: { kind: 'opaque', name: 'lifesign_emitter', pointers: 1, const: true, length: null } },
      { name: 'out', type: { kind: 'scalar', name: 'uint64_t', pointers: 1, const: false, length: null } },
    ],
  },
  lifesign_stop: {
    result: { kind: 'scalar', name: 'int32_t', pointers: 0, const: false, length: null },
    params: [
      { name: 'e', type: { kind: 'opaque', name: 'lifesign_emitter', pointers: 1, const: false, length: null } },
    ],
  },
  lifesign_free: {
    result: { kind: 'scalar', name: 'void', pointers: 0, const: false, length: null },
    params: [
      { name: 'e', type: { kind: 'opaque', name: 'lifesign_emitter', pointers: 1, const: false, length: null } },
    ],
  },
  lifesign_is_alive: {
    result: { kind: 'scalar', name: 'int32_t', pointers: 0, const: false, length: null },
    params: [
      { name: 'path', type: { kind: 'scalar', name: 'char', pointers: 1, const: true, length: null } },
      { name: 'max_age_ms', type: { kind: 'scalar', name: 'uint64_t', pointers: 0, const: false, length: null } },
    ],
  },
  lifesign_check: {
    result: { kind: 'scalar', name: 'int32_t', pointers: 0, const: false, length: null },
    params: [
      { name: 'path', type: { kind: 'scalar', name: 'char', pointers: 1, const: true, length: null } },
      { name: 'max_age_ms', type: { kind: 'scalar', name: 'uint64_t', pointers: 0, const: false, length: null } },
      { name: 'expected_pid', type: { kind: 'scalar', name: 'int64_t', pointers: 0, const: false, length: null } },
      { name: 'out', type: { kind: 'struct', name: 'lifesign_report', pointers: 1, const: false, length: null } },
    ],
  },
  lifesign_check_stall: {
    result: { kind: 'scalar', name: 'int32_t', pointers: 0, const: false, length: null },
    params: [
      { name: 'path', type: { kind: 'scalar', name: 'char', pointers: 1, const: true, length: null } },
      { name: 'max_age_ms', type: { kind: 'scalar', name: 'uint64_t', pointers: 0, const: false, length: null } },
      { name: 'expected_pid', type: { kind: 'scalar', name: 'int64_t', pointers: 0, const: false, length: null } },
      { name: 'stall_ms', type: { kind: 'scalar', name: 'uint64_t', pointers: 0, const: false, length: null } },
      { name: 'out', type: { kind: 'struct', name: 'lifesign_report', pointers: 1, const: false, length: null } },
    ],
  },
  lifesign_wait_ready: {
    result: { kind: 'scalar', name: 'int32_t', pointers: 0, const: false, length: null },
    params: [
      { name: 'path', type: { kind: 'scalar', name: 'char', pointers: 1, const: true, length: null } },
      { name: 'expected_pid', type: { kind: 'scalar', name: 'int64_t', pointers: 0, const: false, length: null } },
      { name: 'idle_timeout_ms', type: { kind: 'scalar', name: 'uint64_t', pointers: 0, const: false, length: null } },
      { name: 'timeout_ms', type: { kind: 'scalar', name: 'uint64_t', pointers: 0, const: false, length: null } },
      { name: 'out', type: { kind: 'struct', name: 'lifesign_report', pointers: 1, const: false, length: null } },
    ],
  },
  lifesign_cancel_new: {
    result: { kind: 'scalar', name: 'int32_t', pointers: 0, const: false, length: null },
    params: [
      { name: 'out', type: { kind: 'opaque', name: 'lifesign_cancel', pointers: 2, const: false, length: null } },
    ],
  },
  lifesign_cancel_trigger: {
    result: { kind: 'scalar', name: 'int32_t', pointers: 0, const: false, length: null },
    params: [
      { name: 'c', type: { kind: 'opaque', name: 'lifesign_cancel', pointers: 1, const: false, length: null } },
    ],
  },
  lifesign_cancel_free: {
    result: { kind: 'scalar', name: 'void', pointers: 0, const: false, length: null },
    params: [
      { name: 'c', type: { kind: 'opaque', name: 'lifesign_cancel', pointers: 1, const: false, length: null } },
    ],
  },
  lifesign_wait_ready_cancel: {
    result: { kind: 'scalar', name: 'int32_t', pointers: 0, const: false, length: null },
    params: [
      { name: 'path', type: { kind: 'scalar', name: 'char', pointers: 1, const: true, length: null } },
      { name: 'expected_pid', type: { kind: 'scalar', name: 'int64_t', pointers: 0, const: false, length: null } },
      { name: 'idle_timeout_ms', type: { kind: 'scalar', name: 'uint64_t', pointers: 0, const: false, length: null } },
      { name: 'timeout_ms', type: { kind: 'scalar', name: 'uint64_t', pointers: 0, const: false, length: null } },
      { name: 'cancel', type: { kind: 'opaque', name: 'lifesign_cancel', pointers: 1, const: true, length: null } },
      { name: 'out', type: { kind: 'struct', name: 'lifesign_report', pointers: 1, const: false, length: null } },
    ],
  },
  lifesign_verdict_name: {
    result: { kind: 'scalar', name: 'char', pointers: 1, const: true, length: null },
    params: [
      { name: 'verdict', type: { kind: 'scalar', name: 'int32_t', pointers: 0, const: false, length: null } },
    ],
  },
  lifesign_state_name: {
    result: { kind: 'scalar', name: 'char', pointers: 1, const: true, length: null },
    params: [
      { name: 'state', type: { kind: 'scalar', name: 'int32_t', pointers: 0, const: false, length: null } },
    ],
  },
  lifesign_shape_name: {
    result: { kind: 'scalar', name: 'char', pointers: 1, const: true, length: null },
    params: [
      { name: 'shape', type: { kind: 'scalar', name: 'int32_t', pointers: 0, const: false, length: null } },
    ],
  },
  lifesign_error_name: {
    result: { kind: 'scalar', name: 'char', pointers: 1, const: true, length: null },
    params: [
      { name: 'code', type: { kind: 'scalar', name: 'int32_t', pointers: 0, const: false, length: null } },
    ],
  },
  lifesign_last_error: {
    result: { kind: 'scalar', name: 'char', pointers: 1, const: true, length: null },
    params: [
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
