# Generated from include/lifesign.h by `make bindings` (bindings/gen/bindgen.py); do not edit.
"""The C declarations of include/lifesign.h for ctypes.

Constants keep their C names. Opaque handles are void pointers. PROTOTYPES
maps every function to its (restype, argtypes).
"""

import ctypes

# Constants: #define integers and strings, static consts, then enum values.
LIFESIGN_VERSION_STRING = "0.2.0"
LIFESIGN_VERSION_MAJOR = 0
LIFESIGN_VERSION_MINOR = 2
LIFESIGN_VERSION_PATCH = 0
LIFESIGN_OK = 0
LIFESIGN_ERR_INVALID_ARGUMENT = -1
LIFESIGN_ERR_IO = -2
LIFESIGN_ERR_STATE = -3
LIFESIGN_ERR_PANIC = -4
LIFESIGN_ERR_TIMEOUT = -5
LIFESIGN_ERR_CANCELLED = -6
LIFESIGN_ERR_CANNOT_TELL = -7
LIFESIGN_STATE_STARTING = 0
LIFESIGN_STATE_READY = 1
LIFESIGN_STATE_STOPPING = 2
LIFESIGN_STATE_STOPPED = 3
LIFESIGN_STATE_FAILED = 4
LIFESIGN_VERDICT_ALIVE = 0
LIFESIGN_VERDICT_MISSING = 1
LIFESIGN_VERDICT_INVALID = 2
LIFESIGN_VERDICT_PID_MISMATCH = 3
LIFESIGN_VERDICT_STOPPED = 4
LIFESIGN_VERDICT_FAILED = 5
LIFESIGN_VERDICT_PROCESS_GONE = 6
LIFESIGN_VERDICT_FUTURE = 7
LIFESIGN_VERDICT_STALE = 8
LIFESIGN_VERDICT_STALLED = 9
LIFESIGN_SHAPE_NONE = 0
LIFESIGN_SHAPE_V1 = 1
LIFESIGN_SHAPE_PLAIN = 2
LIFESIGN_SHAPE_TIMESTAMP = 3
LIFESIGN_SHAPE_CAMEL = 4
LIFESIGN_LOCK_UNKNOWN = 0
LIFESIGN_LOCK_HELD = 1
LIFESIGN_LOCK_FREE = 2
LIFESIGN_LOCK_ABSENT = 3
LIFESIGN_PROCESS_UNKNOWN = 0
LIFESIGN_PROCESS_RUNNING = 1
LIFESIGN_PROCESS_EXITED = 2
LIFESIGN_OPT_DURABLE = 1
LIFESIGN_OPT_REMOVE_ON_STOP = 2
LIFESIGN_OPT_NO_SYSTEMD = 4
LIFESIGN_OPT_NO_S6 = 8
LIFESIGN_OPT_WATCHDOG_TRIGGER = 16
LIFESIGN_OPT_WATCHDOG_ON_PROGRESS = 32
LIFESIGN_OPT_NO_LOCK = 64
LIFESIGN_LOG_OFF = 0
LIFESIGN_LOG_WARN = 1
LIFESIGN_LOG_INFO = 2
LIFESIGN_LOG_DEBUG = 3

# Opaque types, passed as void pointers.
OPAQUE = ("lifesign_cancel", "lifesign_emitter")


class lifesign_options(ctypes.Structure):
    pass


class lifesign_report(ctypes.Structure):
    pass


class lifesign_facts(ctypes.Structure):
    pass


lifesign_error_fn = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int32, ctypes.c_char_p)

lifesign_log_fn = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int32, ctypes.c_char_p)

lifesign_options._fields_ = [
    ("size", ctypes.c_uint32),  # uint32_t size
    ("interval_ms", ctypes.c_uint32),  # uint32_t interval_ms
    ("mode", ctypes.c_uint32),  # uint32_t mode
    ("flags", ctypes.c_uint32),  # uint32_t flags
    ("stale_after_ms", ctypes.c_uint64),  # uint64_t stale_after_ms
    ("notify_fd", ctypes.c_int32),  # int32_t notify_fd
    ("reserved", ctypes.c_uint32),  # uint32_t reserved
    ("on_error", lifesign_error_fn),  # lifesign_error_fn on_error
    ("user_data", ctypes.c_void_p),  # void *user_data
]

lifesign_report._fields_ = [
    ("size", ctypes.c_uint32),  # uint32_t size
    ("verdict", ctypes.c_int32),  # int32_t verdict
    ("state", ctypes.c_int32),  # int32_t state
    ("shape", ctypes.c_int32),  # int32_t shape
    ("pid", ctypes.c_int64),  # int64_t pid
    ("seq", ctypes.c_uint64),  # uint64_t seq
    ("progress", ctypes.c_uint64),  # uint64_t progress
    ("updated_at_ms", ctypes.c_uint64),  # uint64_t updated_at_ms
    ("age_ms", ctypes.c_uint64),  # uint64_t age_ms
    ("interval_ms", ctypes.c_uint64),  # uint64_t interval_ms
    ("progress_at_ms", ctypes.c_uint64),  # uint64_t progress_at_ms
    ("progress_age_ms", ctypes.c_uint64),  # uint64_t progress_age_ms
    ("max_age_ms", ctypes.c_uint64),  # uint64_t max_age_ms
    ("message", ctypes.c_char * 256),  # char message[256]
    ("detail", ctypes.c_char * 256),  # char detail[256]
]

lifesign_facts._fields_ = [
    ("size", ctypes.c_uint32),  # uint32_t size
    ("lock", ctypes.c_int32),  # int32_t lock
    ("process", ctypes.c_int32),  # int32_t process
    ("reserved", ctypes.c_uint32),  # uint32_t reserved
    ("now_ms", ctypes.c_uint64),  # uint64_t now_ms
    ("mono_ms", ctypes.c_uint64),  # uint64_t mono_ms
    ("process_start", ctypes.c_uint64),  # uint64_t process_start
    ("pid_ns", ctypes.c_uint64),  # uint64_t pid_ns
    ("time_ns", ctypes.c_uint64),  # uint64_t time_ns
    ("host", ctypes.c_char_p),  # const char *host
    ("boot_id", ctypes.c_char_p),  # const char *boot_id
    ("max_age_ms", ctypes.c_uint64),  # uint64_t max_age_ms
    ("expected_pid", ctypes.c_int64),  # int64_t expected_pid
    ("stall_ms", ctypes.c_uint64),  # uint64_t stall_ms
]

# name: (restype, argtypes)
PROTOTYPES = {
    "lifesign_version": (ctypes.c_char_p, []),
    "lifesign_start": (ctypes.c_int32, [ctypes.c_char_p, ctypes.c_uint32, ctypes.POINTER(ctypes.c_void_p)]),
    "lifesign_options_init": (None, [ctypes.POINTER(lifesign_options)]),
    "lifesign_start_with": (ctypes.c_int32, [ctypes.c_char_p, ctypes.POINTER(lifesign_options), ctypes.POINTER(ctypes.c_void_p)]),
    "lifesign_start_from_env": (ctypes.c_int32, [ctypes.POINTER(ctypes.c_void_p)]),
    "lifesign_beat": (ctypes.c_int32, [ctypes.c_void_p]),
    "lifesign_set_state": (ctypes.c_int32, [ctypes.c_void_p, ctypes.c_int32, ctypes.c_char_p]),
    "lifesign_reload": (ctypes.c_int32, [ctypes.c_void_p, ctypes.c_char_p]),
    "lifesign_set_meta": (ctypes.c_int32, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]),
    "lifesign_progress": (ctypes.c_int32, [ctypes.c_void_p]),
    "lifesign_write_failures": (ctypes.c_int32, [ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint64)]),
    "lifesign_stop": (ctypes.c_int32, [ctypes.c_void_p]),
    "lifesign_free": (None, [ctypes.c_void_p]),
    "lifesign_is_alive": (ctypes.c_int32, [ctypes.c_char_p, ctypes.c_uint64]),
    "lifesign_report_init": (None, [ctypes.POINTER(lifesign_report)]),
    "lifesign_check": (ctypes.c_int32, [ctypes.c_char_p, ctypes.c_uint64, ctypes.c_int64, ctypes.POINTER(lifesign_report)]),
    "lifesign_check_stall": (ctypes.c_int32, [ctypes.c_char_p, ctypes.c_uint64, ctypes.c_int64, ctypes.c_uint64, ctypes.POINTER(lifesign_report)]),
    "lifesign_facts_init": (None, [ctypes.POINTER(lifesign_facts)]),
    "lifesign_judge": (ctypes.c_int32, [ctypes.POINTER(ctypes.c_uint8), ctypes.c_size_t, ctypes.POINTER(lifesign_facts), ctypes.POINTER(lifesign_report)]),
    "lifesign_wait_ready": (ctypes.c_int32, [ctypes.c_char_p, ctypes.c_int64, ctypes.c_uint64, ctypes.c_uint64, ctypes.POINTER(lifesign_report)]),
    "lifesign_cancel_new": (ctypes.c_int32, [ctypes.POINTER(ctypes.c_void_p)]),
    "lifesign_cancel_trigger": (ctypes.c_int32, [ctypes.c_void_p]),
    "lifesign_cancel_free": (None, [ctypes.c_void_p]),
    "lifesign_wait_ready_cancel": (ctypes.c_int32, [ctypes.c_char_p, ctypes.c_int64, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_void_p, ctypes.POINTER(lifesign_report)]),
    "lifesign_verdict_name": (ctypes.c_char_p, [ctypes.c_int32]),
    "lifesign_state_name": (ctypes.c_char_p, [ctypes.c_int32]),
    "lifesign_shape_name": (ctypes.c_char_p, [ctypes.c_int32]),
    "lifesign_error_name": (ctypes.c_char_p, [ctypes.c_int32]),
    "lifesign_last_error": (ctypes.c_char_p, []),
    "lifesign_set_log_handler": (ctypes.c_int32, [lifesign_log_fn, ctypes.c_void_p, ctypes.c_int32]),
    "lifesign_log_level_name": (ctypes.c_char_p, [ctypes.c_int32]),
}
