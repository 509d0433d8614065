/* Small C helpers for the Go binding.
 *
 * lifesign_last_error() is thread-local, and a goroutine may move to another
 * OS thread between two cgo calls. Each helper therefore makes the library
 * call and copies the error message in the same C call, on the same thread.
 * Results are returned by value so that no Go pointer is handed to C. */
#ifndef LIFESIGN_GO_SHIM_H
#define LIFESIGN_GO_SHIM_H

#include <stddef.h>
#include <stdint.h>
#include <lifesign.h>

/* rc is a LIFESIGN_* code; msg is NULL on success, otherwise a copy of
 * lifesign_last_error() allocated with malloc (the caller frees it). */
typedef struct {
	int32_t rc;
	char *msg;
} ls_status;

typedef struct {
	int32_t rc;
	char *msg;
	lifesign_emitter *emitter;
} ls_start_result;

typedef struct {
	int32_t rc;
	char *msg;
	lifesign_report report;
} ls_report_result;

typedef struct {
	int32_t rc;
	char *msg;
	uint64_t value;
} ls_u64_result;

typedef struct {
	int32_t rc;
	char *msg;
	lifesign_cancel *cancel;
} ls_cancel_result;

/* Starts an emitter with options; handle != 0 installs the error callback
 * that forwards to the Go handler registered under that handle. */
ls_start_result ls_start_with(const char *path, uint32_t interval_ms, uint32_t mode, uint32_t flags,
                              uint64_t stale_after_ms, int32_t notify_fd, uintptr_t handle);
ls_start_result ls_start_from_env(void);
ls_status ls_beat(lifesign_emitter *e);
ls_status ls_set_state(lifesign_emitter *e, int32_t state, const char *message);
ls_status ls_reload(lifesign_emitter *e, const char *message);
ls_status ls_set_meta(lifesign_emitter *e, const char *key, const char *value);
ls_status ls_progress(lifesign_emitter *e);
ls_u64_result ls_write_failures(lifesign_emitter *e);
ls_status ls_stop(lifesign_emitter *e);
ls_status ls_is_alive(const char *path, uint64_t max_age_ms);
ls_report_result ls_check(const char *path, uint64_t max_age_ms, int64_t expected_pid, uint64_t stall_ms);
/* The facts of lifesign_judge, without its strings (passed apart, so that
 * no Go pointer is stored in C memory). has_record 0: no record (missing). */
typedef struct {
	int has_record;
	int32_t lock;
	int32_t process;
	uint64_t now_ms;
	uint64_t mono_ms;
	uint64_t process_start;
	uint64_t pid_ns;
	uint64_t time_ns;
	uint64_t max_age_ms;
	int64_t expected_pid;
	uint64_t stall_ms;
} ls_facts;
ls_report_result ls_judge(const uint8_t *record, size_t len, const ls_facts *facts, const char *host,
                          const char *boot_id);
ls_cancel_result ls_cancel_new(void);
ls_report_result ls_wait_ready(const char *path, int64_t expected_pid, uint64_t idle_timeout_ms,
                               uint64_t timeout_ms, lifesign_cancel *cancel);

/* Routes the library's log messages to the Go logger registered under
 * handle (0: back to the library's default, stderr). */
ls_status ls_set_log_handler(uintptr_t handle, int32_t max_level);

/* The file the library's code was loaded from (the executable itself when
 * linked statically), as the dynamic loader names it; "" when unknown. */
const char *ls_library_file(void);

#endif
