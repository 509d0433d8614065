// Generated from include/lifesign.h by `make bindings` (bindings/gen/bindgen.py); do not edit.
// The declarations of lib/abi.js.

/** A C type: see lib/abi.js. */
export interface CType {
  readonly kind: 'scalar' | 'struct' | 'opaque' | 'callback';
  readonly name: string;
  readonly pointers: number;
  readonly const: boolean;
  readonly length: number | null;
}
export interface CMember {
  readonly name: string | null;
  readonly type: CType;
}
export interface CFunction {
  readonly result: CType;
  readonly params: readonly CMember[];
}

/** The #define integers, static consts and enum values of lifesign.h. */
export declare const constants: {
  readonly LIFESIGN_VERSION_MAJOR: 0;
  readonly LIFESIGN_VERSION_MINOR: 2;
  readonly LIFESIGN_VERSION_PATCH: 0;
  readonly LIFESIGN_OK: 0;
  readonly LIFESIGN_ERR_INVALID_ARGUMENT: -1;
  readonly LIFESIGN_ERR_IO: -2;
  readonly LIFESIGN_ERR_STATE: -3;
  readonly LIFESIGN_ERR_PANIC: -4;
  readonly LIFESIGN_ERR_TIMEOUT: -5;
  readonly LIFESIGN_ERR_CANCELLED: -6;
  readonly LIFESIGN_ERR_CANNOT_TELL: -7;
  readonly LIFESIGN_STATE_STARTING: 0;
  readonly LIFESIGN_STATE_READY: 1;
  readonly LIFESIGN_STATE_STOPPING: 2;
  readonly LIFESIGN_STATE_STOPPED: 3;
  readonly LIFESIGN_STATE_FAILED: 4;
  readonly LIFESIGN_VERDICT_ALIVE: 0;
  readonly LIFESIGN_VERDICT_MISSING: 1;
  readonly LIFESIGN_VERDICT_INVALID: 2;
  readonly LIFESIGN_VERDICT_PID_MISMATCH: 3;
  readonly LIFESIGN_VERDICT_STOPPED: 4;
  readonly LIFESIGN_VERDICT_FAILED: 5;
  readonly LIFESIGN_VERDICT_PROCESS_GONE: 6;
  readonly LIFESIGN_VERDICT_FUTURE: 7;
  readonly LIFESIGN_VERDICT_STALE: 8;
  readonly LIFESIGN_VERDICT_STALLED: 9;
  readonly LIFESIGN_SHAPE_NONE: 0;
  readonly LIFESIGN_SHAPE_V1: 1;
  readonly LIFESIGN_SHAPE_PLAIN: 2;
  readonly LIFESIGN_SHAPE_TIMESTAMP: 3;
  readonly LIFESIGN_SHAPE_CAMEL: 4;
  readonly LIFESIGN_LOCK_UNKNOWN: 0;
  readonly LIFESIGN_LOCK_HELD: 1;
  readonly LIFESIGN_LOCK_FREE: 2;
  readonly LIFESIGN_LOCK_ABSENT: 3;
  readonly LIFESIGN_PROCESS_UNKNOWN: 0;
  readonly LIFESIGN_PROCESS_RUNNING: 1;
  readonly LIFESIGN_PROCESS_EXITED: 2;
  readonly LIFESIGN_OPT_DURABLE: 1;
  readonly LIFESIGN_OPT_REMOVE_ON_STOP: 2;
  readonly LIFESIGN_OPT_NO_SYSTEMD: 4;
  readonly LIFESIGN_OPT_NO_S6: 8;
  readonly LIFESIGN_OPT_WATCHDOG_TRIGGER: 16;
  readonly LIFESIGN_OPT_WATCHDOG_ON_PROGRESS: 32;
  readonly LIFESIGN_OPT_NO_LOCK: 64;
  readonly LIFESIGN_LOG_OFF: 0;
  readonly LIFESIGN_LOG_WARN: 1;
  readonly LIFESIGN_LOG_INFO: 2;
  readonly LIFESIGN_LOG_DEBUG: 3;
};
/** The #define strings of lifesign.h. */
export declare const strings: {
  readonly LIFESIGN_VERSION_STRING: '0.2.0';
};
export declare const enums: {
};
export type Constants = typeof constants;
export type ConstantName = keyof Constants;
export type OpaqueName = 'lifesign_cancel' | 'lifesign_emitter';
export type StructName = 'lifesign_options' | 'lifesign_report' | 'lifesign_facts';
export type CallbackName = 'lifesign_error_fn' | 'lifesign_log_fn';
export type FunctionName = 'lifesign_version' | 'lifesign_start' | 'lifesign_options_init' | 'lifesign_start_with' | 'lifesign_start_from_env' | 'lifesign_beat' | 'lifesign_set_state' | 'lifesign_reload' | 'lifesign_set_meta' | 'lifesign_progress' | 'lifesign_write_failures' | 'lifesign_stop' | 'lifesign_free' | 'lifesign_is_alive' | 'lifesign_report_init' | 'lifesign_check' | 'lifesign_check_stall' | 'lifesign_facts_init' | 'lifesign_judge' | 'lifesign_wait_ready' | 'lifesign_cancel_new' | 'lifesign_cancel_trigger' | 'lifesign_cancel_free' | 'lifesign_wait_ready_cancel' | 'lifesign_verdict_name' | 'lifesign_state_name' | 'lifesign_shape_name' | 'lifesign_error_name' | 'lifesign_last_error' | 'lifesign_set_log_handler' | 'lifesign_log_level_name';
export declare const opaque: readonly OpaqueName[];
export declare const callbacks: { readonly [N in CallbackName]: CFunction };
export declare const structs: { readonly [N in StructName]: readonly CMember[] };
export declare const functions: { readonly [N in FunctionName]: CFunction };
