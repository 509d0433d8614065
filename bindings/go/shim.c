#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"
#include "_cgo_export.h"

static char *ls_copy_last_error(int32_t rc)
{
	if (rc >= 0)
		return NULL;
	const char *m = lifesign_last_error();
	if (m == NULL)
		m = "";
	size_t n = strlen(m);
	char *copy = malloc(n + 1);
	if (copy != NULL)
		memcpy(copy, m, n + 1);
	return copy;
}

static ls_status ls_done(int32_t rc)
{
	ls_status s;
	s.rc = rc;
	s.msg = ls_copy_last_error(rc);
	return s;
}

static void ls_on_error(void *user_data, int32_t code, const char *message)
{
	lifesignGoOnError((uintptr_t)user_data, code, (char *)message);
}

ls_start_result ls_start_with(const char *path, uint32_t interval_ms, uint32_t mode, uint32_t flags,
                              uint64_t stale_after_ms, int32_t notify_fd, uintptr_t handle)
{
	lifesign_options o;
	ls_start_result r;
	lifesign_options_init(&o);
	o.interval_ms = interval_ms;
	o.mode = mode;
	o.flags = flags;
	o.stale_after_ms = stale_after_ms;
	o.notify_fd = notify_fd;
	if (handle != 0) {
		o.on_error = ls_on_error;
		o.user_data = (void *)handle;
	}
	r.emitter = NULL;
	r.rc = lifesign_start_with(path, &o, &r.emitter);
	r.msg = ls_copy_last_error(r.rc);
	return r;
}

ls_start_result ls_start_from_env(void)
{
	ls_start_result r;
	r.emitter = NULL;
	r.rc = lifesign_start_from_env(&r.emitter);
	r.msg = ls_copy_last_error(r.rc);
	return r;
}

ls_status ls_beat(lifesign_emitter *e)
{
	return ls_done(lifesign_beat(e));
}

ls_status ls_set_state(lifesign_emitter *e, int32_t state, const char *message)
{
	return ls_done(lifesign_set_state(e, state, message));
}

ls_status ls_reload(lifesign_emitter *e, const char *message)
{
	return ls_done(lifesign_reload(e, message));
}

ls_status ls_set_meta(lifesign_emitter *e, const char *key, const char *value)
{
	return ls_done(lifesign_set_meta(e, key, value));
}

ls_status ls_progress(lifesign_emitter *e)
{
	return ls_done(lifesign_progress(e));
}

ls_u64_result ls_write_failures(lifesign_emitter *e)
{
	ls_u64_result r;
	r.value = 0;
	r.rc = lifesign_write_failures(e, &r.value);
	r.msg = ls_copy_last_error(r.rc);
	return r;
}

ls_status ls_stop(lifesign_emitter *e)
{
	return ls_done(lifesign_stop(e));
}

ls_status ls_is_alive(const char *path, uint64_t max_age_ms)
{
	return ls_done(lifesign_is_alive(path, max_age_ms));
}

ls_report_result ls_check(const char *path, uint64_t max_age_ms, int64_t expected_pid, uint64_t stall_ms)
{
	ls_report_result r;
	lifesign_report_init(&r.report);
	if (stall_ms != 0)
		r.rc = lifesign_check_stall(path, max_age_ms, expected_pid, stall_ms, &r.report);
	else
		r.rc = lifesign_check(path, max_age_ms, expected_pid, &r.report);
	r.msg = ls_copy_last_error(r.rc);
	return r;
}

ls_report_result ls_judge(const uint8_t *record, size_t len, const ls_facts *facts, const char *host,
                          const char *boot_id)
{
	static const uint8_t empty[1];
	lifesign_facts f;
	ls_report_result r;
	lifesign_facts_init(&f);
	f.lock = facts->lock;
	f.process = facts->process;
	f.now_ms = facts->now_ms;
	f.mono_ms = facts->mono_ms;
	f.process_start = facts->process_start;
	f.pid_ns = facts->pid_ns;
	f.time_ns = facts->time_ns;
	f.host = host;
	f.boot_id = boot_id;
	f.max_age_ms = facts->max_age_ms;
	f.expected_pid = facts->expected_pid;
	f.stall_ms = facts->stall_ms;
	lifesign_report_init(&r.report);
	if (facts->has_record && record == NULL)
		record = empty; /* an empty record: bytes, none of them */
	r.rc = lifesign_judge(facts->has_record ? record : NULL, facts->has_record ? len : 0, &f, &r.report);
	r.msg = ls_copy_last_error(r.rc);
	return r;
}

ls_cancel_result ls_cancel_new(void)
{
	ls_cancel_result r;
	r.cancel = NULL;
	r.rc = lifesign_cancel_new(&r.cancel);
	r.msg = ls_copy_last_error(r.rc);
	return r;
}

ls_report_result ls_wait_ready(const char *path, int64_t expected_pid, uint64_t idle_timeout_ms,
                               uint64_t timeout_ms, lifesign_cancel *cancel)
{
	ls_report_result r;
	lifesign_report_init(&r.report);
	r.rc = lifesign_wait_ready_cancel(path, expected_pid, idle_timeout_ms, timeout_ms, cancel,
	                                  &r.report);
	r.msg = ls_copy_last_error(r.rc);
	return r;
}

static void ls_on_log(void *user_data, int32_t level, const char *message)
{
	lifesignGoOnLog((uintptr_t)user_data, level, (char *)message);
}

ls_status ls_set_log_handler(uintptr_t handle, int32_t max_level)
{
	return ls_done(lifesign_set_log_handler(handle != 0 ? ls_on_log : NULL, (void *)handle, max_level));
}

const char *ls_library_file(void)
{
	Dl_info info;
	if (dladdr((void *)lifesign_version, &info) != 0 && info.dli_fname != NULL)
		return info.dli_fname;
	return "";
}
