/*
 * The whole C ABI, from C: every function, NULL and bad arguments, double
 * stop and NULL free, the shared test vectors, and real child processes.
 *
 * Environment: LIFESIGN_VECTORS_DIR (default tests/vectors), TMPDIR.
 * Prints "N passed, N failed" and exits non-zero on any failure.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "lifesign.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static int passed, failed;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (cond) {                                                              \
            passed++;                                                            \
        } else {                                                                 \
            failed++;                                                            \
            fprintf(stderr, "%s:%d: %s failed (last error: %s)\n", __FILE__,     \
                    __LINE__, #cond, lifesign_last_error());                     \
        }                                                                        \
    } while (0)

static char tmpdir[4096];

static void join_path(char *out, size_t n, const char *dir, const char *name) {
    int len = snprintf(out, n, "%s/%s", dir, name);
    if (len < 0 || (size_t)len >= n) {
        fprintf(stderr, "path too long: %s/%s\n", dir, name);
        exit(2);
    }
}

static void path_in_tmp(char *out, size_t n, const char *name) {
    join_path(out, n, tmpdir, name);
}

static int run_cmd(const char *fmt, const char *arg) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, fmt, arg);
    return system(cmd);
}

/* ---- the shared vectors: a JSON array of objects, each flat but for "facts" */

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = (char *)malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) buf[n] = 0;
    if (len) *len = (size_t)n;
    return buf;
}

/* The '}' that closes the object opened at obj (strings skipped), or NULL. */
static const char *object_end(const char *obj) {
    int depth = 0, in_string = 0;
    for (const char *p = obj; *p; p++) {
        if (in_string) {
            if (*p == '\\' && p[1]) p++;
            else if (*p == '"') in_string = 0;
        } else if (*p == '"') {
            in_string = 1;
        } else if (*p == '{') {
            depth++;
        } else if (*p == '}' && --depth == 0) {
            return p;
        }
    }
    return NULL;
}

/* Finds "key": in [obj, end) and returns a pointer to its value. */
static const char *field(const char *obj, const char *end, const char *key) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(obj, pat);
    if (!p || p >= end) return NULL;
    p += strlen(pat);
    while (*p == ' ') p++;
    return p;
}

static void string_field(const char *obj, const char *end, const char *key, char *out, size_t n) {
    const char *p = field(obj, end, key);
    out[0] = 0;
    if (!p || *p != '"') return; /* null */
    p++;
    size_t i = 0;
    while (*p && *p != '"' && i + 1 < n) out[i++] = *p++;
    out[i] = 0;
}

static unsigned long long num_field(const char *obj, const char *end, const char *key) {
    const char *p = field(obj, end, key);
    return p ? strtoull(p, NULL, 10) : 0;
}

/* Every key a case, and its "facts", may have: a runner that met another
   would skip what it does not know, so it fails instead. */
static const char *const CASE_KEYS[] = {"name", "file", "max_age_ms", "expected_pid", "stall_ms",
                                        "verdict", "state", "shape", "updated_at_ms", "facts", NULL};
static const char *const FACTS_KEYS[] = {"now_ms", "mono_ms", "host", "boot_id", "pid_ns",
                                         "time_ns", "lock", "process", "process_start", NULL};

/* Whether every key of the object [obj, end] (not of objects inside it) is in keys. */
static int keys_known(const char *obj, const char *end, const char *const *keys) {
    int depth = 0, in_string = 0, expect_key = 0;
    const char *key = NULL;
    for (const char *p = obj; p <= end; p++) {
        if (in_string) {
            if (*p == '\\') {
                p++;
            } else if (*p == '"') {
                in_string = 0;
                if (key) {
                    size_t n = (size_t)(p - key);
                    const char *q = p + 1;
                    while (*q == ' ') q++;
                    if (*q == ':') {
                        int known = 0;
                        for (const char *const *k = keys; *k; k++)
                            if (strlen(*k) == n && strncmp(*k, key, n) == 0) known = 1;
                        if (!known) {
                            fprintf(stderr, "vector: unknown key %.*s\n", (int)n, key);
                            return 0;
                        }
                    }
                    key = NULL;
                }
            }
        } else if (*p == '"') {
            in_string = 1;
            if (depth == 1 && expect_key) key = p + 1;
        } else if (*p == '{') {
            depth++;
            expect_key = depth == 1;
        } else if (*p == '}') {
            depth--;
        } else if (*p == ',' && depth == 1) {
            expect_key = 1;
        } else if (*p == ':' && depth == 1) {
            expect_key = 0;
        }
    }
    return 1;
}

static int lock_code(const char *name) {
    if (!*name || strcmp(name, "unknown") == 0) return LIFESIGN_LOCK_UNKNOWN;
    if (strcmp(name, "held") == 0) return LIFESIGN_LOCK_HELD;
    if (strcmp(name, "free") == 0) return LIFESIGN_LOCK_FREE;
    if (strcmp(name, "absent") == 0) return LIFESIGN_LOCK_ABSENT;
    return -1;
}

static int process_code(const char *name) {
    if (!*name || strcmp(name, "unknown") == 0) return LIFESIGN_PROCESS_UNKNOWN;
    if (strcmp(name, "running") == 0) return LIFESIGN_PROCESS_RUNNING;
    if (strcmp(name, "exited") == 0) return LIFESIGN_PROCESS_EXITED;
    return -1;
}

/* A case with "facts": the bytes of its file (none when there is no file)
   judged under those facts by lifesign_judge. */
static int judge_case(const char *obj, const char *end, const char *fpath, lifesign_report *r) {
    const char *fobj = field(obj, end, "facts");
    const char *fend = object_end(fobj);
    if (!fend || !keys_known(fobj, fend, FACTS_KEYS)) return -100;
    char host[256], boot_id[256], lock[32], process[32];
    string_field(fobj, fend, "host", host, sizeof host);
    string_field(fobj, fend, "boot_id", boot_id, sizeof boot_id);
    string_field(fobj, fend, "lock", lock, sizeof lock);
    string_field(fobj, fend, "process", process, sizeof process);
    lifesign_facts f;
    lifesign_facts_init(&f);
    f.now_ms = num_field(fobj, fend, "now_ms");
    f.mono_ms = num_field(fobj, fend, "mono_ms");
    f.pid_ns = num_field(fobj, fend, "pid_ns");
    f.time_ns = num_field(fobj, fend, "time_ns");
    f.process_start = num_field(fobj, fend, "process_start");
    f.host = field(fobj, fend, "host") ? host : NULL;
    f.boot_id = field(fobj, fend, "boot_id") ? boot_id : NULL;
    f.lock = lock_code(lock);
    f.process = process_code(process);
    f.max_age_ms = num_field(obj, end, "max_age_ms");
    f.expected_pid = (int64_t)num_field(obj, end, "expected_pid");
    f.stall_ms = num_field(obj, end, "stall_ms");
    size_t len = 0;
    char *bytes = read_file(fpath, &len);
    if (!bytes && errno != ENOENT) return -100;
    int rc = lifesign_judge((const uint8_t *)bytes, bytes ? len : 0, &f, r);
    free(bytes);
    return rc;
}

static void test_vectors(void) {
    const char *dir = getenv("LIFESIGN_VECTORS_DIR");
    if (!dir) dir = "tests/vectors";
    char path[4096];
    join_path(path, sizeof path, dir, "cases.json");
    char *json = read_file(path, NULL);
    CHECK(json != NULL);
    if (!json) return;
    int cases = 0, judged = 0;
    for (const char *obj = strchr(json, '{'); obj; obj = strchr(obj + 1, '{')) {
        const char *end = object_end(obj);
        if (!end) break;
        char name[256], file[1024], verdict[64], state[64], shape[64];
        string_field(obj, end, "name", name, sizeof name);
        string_field(obj, end, "file", file, sizeof file);
        string_field(obj, end, "verdict", verdict, sizeof verdict);
        string_field(obj, end, "state", state, sizeof state);
        string_field(obj, end, "shape", shape, sizeof shape);
        char fpath[4096];
        join_path(fpath, sizeof fpath, dir, file);
        lifesign_report r;
        lifesign_report_init(&r);
        int rc;
        if (!keys_known(obj, end, CASE_KEYS)) {
            rc = -100;
        } else if (field(obj, end, "facts")) {
            rc = judge_case(obj, end, fpath, &r);
            judged++;
        } else {
            rc = lifesign_check_stall(fpath, num_field(obj, end, "max_age_ms"),
                                      (int64_t)num_field(obj, end, "expected_pid"),
                                      num_field(obj, end, "stall_ms"), &r);
        }
        const char *got_state = r.state < 0 ? "" : lifesign_state_name(r.state);
        /* "updated_at_ms" is optional: when given, the time read must match. */
        int at_ok = !field(obj, end, "updated_at_ms") ||
                    r.updated_at_ms == num_field(obj, end, "updated_at_ms");
        int ok = rc == LIFESIGN_OK && strcmp(lifesign_verdict_name(r.verdict), verdict) == 0 &&
                 strcmp(got_state, state) == 0 &&
                 strcmp(lifesign_shape_name(r.shape), shape) == 0 && at_ok;
        if (!ok)
            fprintf(stderr, "vector %s: rc %d, got %s/%s/%s, want %s/%s/%s (%s)\n", name, rc,
                    lifesign_verdict_name(r.verdict), got_state, lifesign_shape_name(r.shape),
                    verdict, state, shape, r.detail);
        CHECK(ok);
        cases++;
        obj = end;
    }
    CHECK(cases >= 40);
    CHECK(judged >= 60);
    free(json);
}

/* lifesign_judge refuses what it cannot read, and still leaves a report. */
static void test_judge_arguments(void) {
    static const char rec[] = "{\"v\":1,\"pid\":4242,\"state\":\"ready\",\"seq\":1,\"updated_at_ms\":1000}";
    const uint8_t *bytes = (const uint8_t *)rec;
    lifesign_facts f;
    lifesign_facts_init(&f);
    CHECK(f.size == sizeof f && f.lock == LIFESIGN_LOCK_UNKNOWN && f.process == LIFESIGN_PROCESS_UNKNOWN);
    CHECK(f.host == NULL && f.boot_id == NULL && f.now_ms == 0);
    lifesign_facts_init(NULL);
    lifesign_report r;
    lifesign_report_init(&r);
    f.now_ms = 1500;
    CHECK(lifesign_judge(bytes, sizeof rec - 1, &f, &r) == LIFESIGN_OK);
    CHECK(r.verdict == LIFESIGN_VERDICT_ALIVE && r.age_ms == 500 && r.pid == 4242);
    CHECK(lifesign_judge(NULL, 0, &f, &r) == LIFESIGN_OK && r.verdict == LIFESIGN_VERDICT_MISSING);
    CHECK(lifesign_judge(NULL, 3, &f, &r) == LIFESIGN_ERR_INVALID_ARGUMENT);
    CHECK(r.verdict == LIFESIGN_VERDICT_INVALID && strstr(r.detail, "NULL") != NULL);
    CHECK(lifesign_judge(bytes, sizeof rec - 1, NULL, &r) == LIFESIGN_ERR_INVALID_ARGUMENT);
    CHECK(strstr(lifesign_last_error(), "facts") != NULL);
    CHECK(lifesign_judge(bytes, sizeof rec - 1, &f, NULL) == LIFESIGN_ERR_INVALID_ARGUMENT);
    f.lock = 9;
    CHECK(lifesign_judge(bytes, sizeof rec - 1, &f, &r) == LIFESIGN_ERR_INVALID_ARGUMENT);
    CHECK(strstr(lifesign_last_error(), "LIFESIGN_LOCK_") != NULL);
    f.lock = LIFESIGN_LOCK_HELD;
    f.process = -1;
    CHECK(lifesign_judge(bytes, sizeof rec - 1, &f, &r) == LIFESIGN_ERR_INVALID_ARGUMENT);
    f.process = LIFESIGN_PROCESS_RUNNING;
    f.host = "\xff\xfe";
    CHECK(lifesign_judge(bytes, sizeof rec - 1, &f, &r) == LIFESIGN_ERR_INVALID_ARGUMENT);
    CHECK(strstr(lifesign_last_error(), "UTF-8") != NULL);
    f.host = NULL;
    f.expected_pid = -5;
    CHECK(lifesign_judge(bytes, sizeof rec - 1, &f, &r) == LIFESIGN_ERR_INVALID_ARGUMENT);
    f.expected_pid = 0;
    f.size = 12; /* never initialised */
    CHECK(lifesign_judge(bytes, sizeof rec - 1, &f, &r) == LIFESIGN_ERR_INVALID_ARGUMENT);
    CHECK(strstr(lifesign_last_error(), "lifesign_facts_init") != NULL);
    f.size = (uint32_t)sizeof f + 8; /* a newer header's larger struct */
    CHECK(lifesign_judge(bytes, sizeof rec - 1, &f, &r) == LIFESIGN_OK);
    f.size = (uint32_t)sizeof f;
    f.reserved = 1;
    CHECK(lifesign_judge(bytes, sizeof rec - 1, &f, &r) == LIFESIGN_ERR_INVALID_ARGUMENT);
}

/* ---- names, version, errors ---------------------------------------------- */

static void test_names_and_version(void) {
    char v[64];
    snprintf(v, sizeof v, "%d.%d.%d", LIFESIGN_VERSION_MAJOR, LIFESIGN_VERSION_MINOR,
             LIFESIGN_VERSION_PATCH);
    CHECK(strcmp(lifesign_version(), v) == 0);
    CHECK(strcmp(lifesign_version(), LIFESIGN_VERSION_STRING) == 0);
    CHECK(strcmp(lifesign_verdict_name(LIFESIGN_VERDICT_ALIVE), "alive") == 0);
    CHECK(strcmp(lifesign_verdict_name(LIFESIGN_VERDICT_PID_MISMATCH), "pid_mismatch") == 0);
    CHECK(strcmp(lifesign_verdict_name(LIFESIGN_VERDICT_STALLED), "stalled") == 0);
    CHECK(strcmp(lifesign_verdict_name(99), "unknown") == 0);
    CHECK(strcmp(lifesign_verdict_name(-1), "unknown") == 0);
    CHECK(strcmp(lifesign_state_name(LIFESIGN_STATE_READY), "ready") == 0);
    CHECK(strcmp(lifesign_state_name(5), "unknown") == 0);
    CHECK(strcmp(lifesign_shape_name(LIFESIGN_SHAPE_CAMEL), "camel") == 0);
    CHECK(strcmp(lifesign_error_name(LIFESIGN_ERR_IO), "LIFESIGN_ERR_IO") == 0);
    CHECK(strcmp(lifesign_error_name(LIFESIGN_OK), "LIFESIGN_OK") == 0);
    CHECK(strcmp(lifesign_error_name(-100), "unknown") == 0);
}

/* ---- NULL and bad arguments ---------------------------------------------- */

static void test_bad_arguments(void) {
    lifesign_emitter *e = (lifesign_emitter *)0x1;
    lifesign_report r;
    lifesign_report_init(&r);
    char p[4096];
    path_in_tmp(p, sizeof p, "bad.json");

    CHECK(lifesign_start(NULL, 100, &e) == LIFESIGN_ERR_INVALID_ARGUMENT);
    CHECK(e == NULL);
    CHECK(strstr(lifesign_last_error(), "path") != NULL);
    CHECK(lifesign_start(p, 100, NULL) == LIFESIGN_ERR_INVALID_ARGUMENT);
    CHECK(lifesign_start("", 100, &e) == LIFESIGN_ERR_INVALID_ARGUMENT);
    e = (lifesign_emitter *)0x1;
    CHECK(lifesign_start("\xff\xfe/bad", 100, &e) == LIFESIGN_ERR_INVALID_ARGUMENT);
    CHECK(e == NULL);
    CHECK(strstr(lifesign_last_error(), "UTF-8") != NULL);
    CHECK(lifesign_start_with(p, NULL, NULL) == LIFESIGN_ERR_INVALID_ARGUMENT);
    CHECK(lifesign_start_from_env(NULL) == LIFESIGN_ERR_INVALID_ARGUMENT);

    lifesign_options o;
    lifesign_options_init(&o);
    lifesign_options_init(NULL);
    o.size = 4;
    e = (lifesign_emitter *)0x1;
    CHECK(lifesign_start_with(p, &o, &e) == LIFESIGN_ERR_INVALID_ARGUMENT);
    CHECK(e == NULL);
    lifesign_options_init(&o);
    o.flags = 1u << 30;
    CHECK(lifesign_start_with(p, &o, &e) == LIFESIGN_ERR_INVALID_ARGUMENT);
    lifesign_options_init(&o);
    o.mode = 010000;
    CHECK(lifesign_start_with(p, &o, &e) == LIFESIGN_ERR_INVALID_ARGUMENT);

    CHECK(lifesign_beat(NULL) == LIFESIGN_ERR_INVALID_ARGUMENT);
    CHECK(lifesign_set_state(NULL, LIFESIGN_STATE_READY, NULL) == LIFESIGN_ERR_INVALID_ARGUMENT);
    CHECK(lifesign_set_meta(NULL, "k", "v") == LIFESIGN_ERR_INVALID_ARGUMENT);
    CHECK(lifesign_progress(NULL) == LIFESIGN_ERR_INVALID_ARGUMENT);
    uint64_t n;
    CHECK(lifesign_write_failures(NULL, &n) == LIFESIGN_ERR_INVALID_ARGUMENT);
    CHECK(lifesign_stop(NULL) == LIFESIGN_ERR_INVALID_ARGUMENT);
    lifesign_free(NULL);

    CHECK(lifesign_is_alive(NULL, 0) == LIFESIGN_ERR_INVALID_ARGUMENT);
    CHECK(lifesign_check(NULL, 0, 0, &r) == LIFESIGN_ERR_INVALID_ARGUMENT);
    CHECK(r.verdict == LIFESIGN_VERDICT_INVALID && r.state == -1);
    CHECK(lifesign_check(p, 0, 0, NULL) == LIFESIGN_ERR_INVALID_ARGUMENT);
    CHECK(lifesign_check(p, 0, -5, &r) == LIFESIGN_ERR_INVALID_ARGUMENT);
    CHECK(strstr(lifesign_last_error(), "expected_pid") != NULL);
    CHECK(lifesign_check("\xc3\x28", 0, 0, &r) == LIFESIGN_ERR_INVALID_ARGUMENT);
    CHECK(lifesign_wait_ready(NULL, 0, 0, 1, &r) == LIFESIGN_ERR_INVALID_ARGUMENT);
    CHECK(lifesign_wait_ready(p, 0, 0, 1, NULL) == LIFESIGN_ERR_INVALID_ARGUMENT);
    CHECK(lifesign_wait_ready(p, -1, 0, 1, &r) == LIFESIGN_ERR_INVALID_ARGUMENT);
    CHECK(lifesign_cancel_new(NULL) == LIFESIGN_ERR_INVALID_ARGUMENT);
    CHECK(lifesign_cancel_trigger(NULL) == LIFESIGN_ERR_INVALID_ARGUMENT);
    lifesign_cancel_free(NULL);
}

/* ---- one emitter through its life ---------------------------------------- */

static int callback_calls;
static int32_t callback_code;
static void on_error(void *user_data, int32_t code, const char *message) {
    (void)message;
    callback_calls += *(int *)user_data;
    callback_code = code;
}

static void test_emitter_lifecycle(void) {
    char p[4096];
    path_in_tmp(p, sizeof p, "sub/dir/life.json");
    lifesign_emitter *e = NULL;
    lifesign_report r;
    lifesign_report_init(&r);

    CHECK(lifesign_start(p, 3600000, &e) == LIFESIGN_OK);
    CHECK(e != NULL);
    CHECK(lifesign_check(p, 0, 0, &r) == LIFESIGN_OK);
    CHECK(r.verdict == LIFESIGN_VERDICT_ALIVE);
    CHECK(r.state == LIFESIGN_STATE_STARTING);
    CHECK(r.seq == 1);
    CHECK(r.pid == getpid());
    CHECK(r.interval_ms == 3600000);
    CHECK(r.shape == LIFESIGN_SHAPE_V1);
    CHECK(lifesign_is_alive(p, 0) == 1);
    CHECK(lifesign_check(p, 0, getpid(), &r) == LIFESIGN_OK && r.verdict == LIFESIGN_VERDICT_ALIVE);
    CHECK(lifesign_check(p, 0, getpid() + 1, &r) == LIFESIGN_OK &&
          r.verdict == LIFESIGN_VERDICT_PID_MISMATCH);

    CHECK(lifesign_beat(e) == LIFESIGN_OK);
    CHECK(lifesign_set_state(e, LIFESIGN_STATE_READY, "serving") == LIFESIGN_OK);
    CHECK(lifesign_check(p, 0, 0, &r) == LIFESIGN_OK);
    CHECK(r.seq == 3 && r.state == LIFESIGN_STATE_READY && strcmp(r.message, "serving") == 0);
    CHECK(lifesign_set_state(e, LIFESIGN_STATE_READY, NULL) == LIFESIGN_OK);
    CHECK(lifesign_check(p, 0, 0, &r) == LIFESIGN_OK && strcmp(r.message, "serving") == 0);
    CHECK(lifesign_set_state(e, LIFESIGN_STATE_READY, "") == LIFESIGN_OK);
    CHECK(lifesign_check(p, 0, 0, &r) == LIFESIGN_OK && r.message[0] == 0);
    CHECK(lifesign_set_state(e, LIFESIGN_STATE_STOPPED, NULL) == LIFESIGN_ERR_INVALID_ARGUMENT);
    CHECK(lifesign_set_state(e, 42, NULL) == LIFESIGN_ERR_INVALID_ARGUMENT);
    CHECK(lifesign_set_state(e, -1, NULL) == LIFESIGN_ERR_INVALID_ARGUMENT);
    CHECK(lifesign_set_state(e, LIFESIGN_STATE_READY, "\xff") == LIFESIGN_ERR_INVALID_ARGUMENT);
    CHECK(lifesign_set_meta(e, "build", "42") == LIFESIGN_OK);
    CHECK(lifesign_set_meta(e, NULL, "x") == LIFESIGN_ERR_INVALID_ARGUMENT);
    CHECK(lifesign_set_meta(e, "build", NULL) == LIFESIGN_OK);

    /* A message longer than the report's buffer is cut at a UTF-8 boundary. */
    char longmsg[1000];
    for (int i = 0; i < 999; i += 2) {
        longmsg[i] = (char)0xc3;
        longmsg[i + 1] = (char)0xa9; /* é */
    }
    longmsg[998] = 0;
    CHECK(lifesign_set_state(e, LIFESIGN_STATE_READY, longmsg) == LIFESIGN_OK);
    CHECK(lifesign_check(p, 0, 0, &r) == LIFESIGN_OK);
    CHECK(strlen(r.message) == 254 && (unsigned char)r.message[253] == 0xa9);

    /* Progress is in memory until the next write; a stall limit reads it. */
    for (int i = 0; i < 1000; i++) lifesign_progress(e);
    CHECK(lifesign_beat(e) == LIFESIGN_OK);
    CHECK(lifesign_check_stall(p, 0, 0, 3600000, &r) == LIFESIGN_OK);
    CHECK(r.progress == 1000 && r.progress_at_ms > 0 && r.verdict == LIFESIGN_VERDICT_ALIVE);

    uint64_t failures = 99;
    CHECK(lifesign_write_failures(e, &failures) == LIFESIGN_OK && failures == 0);
    CHECK(lifesign_write_failures(e, NULL) == LIFESIGN_ERR_INVALID_ARGUMENT);

    CHECK(lifesign_stop(e) == LIFESIGN_OK);
    CHECK(lifesign_stop(e) == LIFESIGN_OK);
    CHECK(lifesign_check(p, 0, 0, &r) == LIFESIGN_OK && r.verdict == LIFESIGN_VERDICT_STOPPED);
    CHECK(r.state == LIFESIGN_STATE_STOPPED);
    CHECK(lifesign_beat(e) == LIFESIGN_ERR_STATE);
    CHECK(lifesign_progress(e) == LIFESIGN_ERR_STATE);
    CHECK(lifesign_set_state(e, LIFESIGN_STATE_READY, NULL) == LIFESIGN_ERR_STATE);
    CHECK(lifesign_set_meta(e, "a", "b") == LIFESIGN_ERR_STATE);
    CHECK(strstr(lifesign_last_error(), "stopped") != NULL);
    lifesign_free(e);

    /* free without stop stops first. */
    CHECK(lifesign_start(p, 0, &e) == LIFESIGN_OK);
    lifesign_free(e);
    CHECK(lifesign_check(p, 0, 0, &r) == LIFESIGN_OK && r.verdict == LIFESIGN_VERDICT_STOPPED);
    CHECK(r.interval_ms == 1000);
}

static void test_options_and_error_callback(void) {
    char p[4096], cmd_path[4096];
    path_in_tmp(p, sizeof p, "opts.json");
    lifesign_options o;
    lifesign_options_init(&o);
    CHECK(o.size == sizeof o && o.interval_ms == 1000 && o.mode == 0644 && o.notify_fd == -1);
    int one = 1;
    o.interval_ms = 3600000;
    o.mode = 0600;
    o.flags = LIFESIGN_OPT_REMOVE_ON_STOP | LIFESIGN_OPT_DURABLE;
    o.stale_after_ms = 12345;
    o.on_error = on_error;
    o.user_data = &one;
    mode_t old = umask(077);
    lifesign_emitter *e = NULL;
    CHECK(lifesign_start_with(p, &o, &e) == LIFESIGN_OK);
    umask(old);
    struct stat st;
    CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0600);
    lifesign_report r;
    lifesign_report_init(&r);
    CHECK(lifesign_check(p, 0, 0, &r) == LIFESIGN_OK && r.max_age_ms == 12345);

    /* A non-empty folder at the path: every write fails, the callback hears it. */
    CHECK(unlink(p) == 0 && mkdir(p, 0755) == 0);
    join_path(cmd_path, sizeof cmd_path, p, "x");
    int fd = open(cmd_path, O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 0);
    close(fd);
    CHECK(lifesign_beat(e) == LIFESIGN_ERR_IO);
    CHECK(strstr(lifesign_last_error(), "opts.json") != NULL);
    CHECK(lifesign_beat(e) == LIFESIGN_ERR_IO);
    uint64_t failures = 0;
    CHECK(lifesign_write_failures(e, &failures) == LIFESIGN_OK && failures == 2);
    CHECK(callback_calls == 2 && callback_code == LIFESIGN_ERR_IO);
    CHECK(unlink(cmd_path) == 0 && rmdir(p) == 0);
    CHECK(lifesign_beat(e) == LIFESIGN_OK);
    CHECK(lifesign_stop(e) == LIFESIGN_OK);
    CHECK(access(p, F_OK) != 0); /* removed on stop */
    lifesign_free(e);
}

static void test_start_from_env(void) {
    char p[4096];
    path_in_tmp(p, sizeof p, "env.json");
    lifesign_emitter *e = (lifesign_emitter *)0x1;
    unsetenv("LIFESIGN_FILE");
    CHECK(lifesign_start_from_env(&e) == LIFESIGN_OK && e == NULL);
    setenv("LIFESIGN_FILE", "", 1);
    CHECK(lifesign_start_from_env(&e) == LIFESIGN_OK && e == NULL);
    setenv("LIFESIGN_FILE", p, 1);
    setenv("LIFESIGN_INTERVAL_MS", "often", 1);
    CHECK(lifesign_start_from_env(&e) == LIFESIGN_ERR_INVALID_ARGUMENT && e == NULL);
    CHECK(strstr(lifesign_last_error(), "LIFESIGN_INTERVAL_MS") != NULL);
    CHECK(strcmp(getenv("LIFESIGN_INTERVAL_MS"), "often") == 0); /* untouched */
    setenv("LIFESIGN_INTERVAL_MS", "250", 1);
    CHECK(lifesign_start_from_env(&e) == LIFESIGN_OK && e != NULL);
    lifesign_report r;
    lifesign_report_init(&r);
    CHECK(lifesign_check(p, 0, 0, &r) == LIFESIGN_OK && r.interval_ms == 250);
    lifesign_free(e);
    unsetenv("LIFESIGN_FILE");
    unsetenv("LIFESIGN_INTERVAL_MS");
}

/* ---- real processes ------------------------------------------------------ */

/* A child that emits; it reports ready when it reads a byte from `go`. */
static pid_t spawn_emitter(const char *path, int go_read_fd, int started_write_fd) {
    pid_t pid = fork();
    if (pid == 0) {
        lifesign_emitter *e = NULL;
        if (lifesign_start(path, 3600000, &e) != LIFESIGN_OK) _exit(10);
        char c = 's';
        if (write(started_write_fd, &c, 1) != 1) _exit(11);
        if (read(go_read_fd, &c, 1) == 1) lifesign_set_state(e, LIFESIGN_STATE_READY, "up");
        pause();
        _exit(0);
    }
    return pid;
}

static void test_cross_process_kill_and_wait(void) {
    char p[4096];
    path_in_tmp(p, sizeof p, "child.json");
    int go[2], started[2];
    CHECK(pipe(go) == 0 && pipe(started) == 0);
    pid_t pid = spawn_emitter(p, go[0], started[1]);
    char c;
    CHECK(read(started[0], &c, 1) == 1);

    lifesign_report r;

    lifesign_report_init(&r);
    CHECK(lifesign_check(p, 0, pid, &r) == LIFESIGN_OK && r.verdict == LIFESIGN_VERDICT_ALIVE);
    /* The wait sees it become ready. */
    CHECK(write(go[1], "g", 1) == 1);
    CHECK(lifesign_wait_ready(p, pid, 0, 0, &r) == LIFESIGN_OK);
    CHECK(r.verdict == LIFESIGN_VERDICT_ALIVE && r.state == LIFESIGN_STATE_READY);
    CHECK(strcmp(r.message, "up") == 0);

    /* SIGKILL: process_gone on the very next check, zombie or reaped. */
    CHECK(kill(pid, SIGKILL) == 0);
    siginfo_t info;
    CHECK(waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT) == 0);
    CHECK(lifesign_check(p, 0, 0, &r) == LIFESIGN_OK && r.verdict == LIFESIGN_VERDICT_PROCESS_GONE);
    CHECK(lifesign_is_alive(p, 0) == 0);
    CHECK(waitpid(pid, NULL, 0) == pid);
    CHECK(lifesign_check(p, 0, 0, &r) == LIFESIGN_OK && r.verdict == LIFESIGN_VERDICT_PROCESS_GONE);
    close(go[0]);
    close(go[1]);
    close(started[0]);
    close(started[1]);
}

static void test_wait_timeout_and_cancel(void) {
    char p[4096];
    path_in_tmp(p, sizeof p, "never.json");
    lifesign_report r;
    lifesign_report_init(&r);
    CHECK(lifesign_wait_ready(p, 0, 0, 50, &r) == LIFESIGN_ERR_TIMEOUT);
    CHECK(r.verdict == LIFESIGN_VERDICT_MISSING);
    lifesign_cancel *c = NULL;
    CHECK(lifesign_cancel_new(&c) == LIFESIGN_OK && c != NULL);
    CHECK(lifesign_cancel_trigger(c) == LIFESIGN_OK);
    CHECK(lifesign_wait_ready_cancel(p, 0, 0, 0, c, &r) == LIFESIGN_ERR_CANCELLED);
    CHECK(lifesign_wait_ready_cancel(p, 0, 0, 30, NULL, &r) == LIFESIGN_ERR_TIMEOUT);
    lifesign_cancel_free(c);
}

static void test_fork_child_refused(void) {
    /* Under valgrind the forked child's exit is leak-checked too, and a child
     * cannot free the parent's refresh thread (it does not exist there): by
     * design it only releases what it safely can. The plain and sanitizer
     * runs cover this test. */
    if (getenv("LIFESIGN_SKIP_FORK_TEST")) return;
    char p[4096];
    path_in_tmp(p, sizeof p, "fork.json");
    lifesign_emitter *e = NULL;
    CHECK(lifesign_start(p, 3600000, &e) == LIFESIGN_OK);
    pid_t pid = fork();
    if (pid == 0) {
        uint64_t failures = 0;
        int ok = lifesign_beat(e) == LIFESIGN_ERR_STATE &&
                 lifesign_progress(e) == LIFESIGN_ERR_STATE &&
                 lifesign_set_state(e, LIFESIGN_STATE_READY, NULL) == LIFESIGN_ERR_STATE &&
                 lifesign_stop(e) == LIFESIGN_ERR_STATE &&
                 lifesign_write_failures(e, &failures) == LIFESIGN_ERR_STATE;
        lifesign_free(e);
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    lifesign_report r;
    lifesign_report_init(&r);
    CHECK(lifesign_check(p, 0, 0, &r) == LIFESIGN_OK && r.seq == 1 && r.pid == getpid());
    CHECK(lifesign_beat(e) == LIFESIGN_OK);
    lifesign_free(e);
}

static void test_not_regular_files(void) {
    char p[4096];
    lifesign_report r;
    lifesign_report_init(&r);
    path_in_tmp(p, sizeof p, "fifo");
    CHECK(mkfifo(p, 0644) == 0);
    CHECK(lifesign_check(p, 0, 0, &r) == LIFESIGN_OK && r.verdict == LIFESIGN_VERDICT_INVALID);
    CHECK(lifesign_check(tmpdir, 0, 0, &r) == LIFESIGN_OK && r.verdict == LIFESIGN_VERDICT_INVALID);
    CHECK(lifesign_check("/dev/null", 0, 0, &r) == LIFESIGN_OK &&
          r.verdict == LIFESIGN_VERDICT_INVALID);
    path_in_tmp(p, sizeof p, "missing.json");
    CHECK(lifesign_check(p, 0, 0, &r) == LIFESIGN_OK && r.verdict == LIFESIGN_VERDICT_MISSING);
    CHECK(r.state == -1 && r.shape == LIFESIGN_SHAPE_NONE);
}


/* A reader's own failure (here: no descriptor left) is an error, never a
 * verdict; a missing file stays a verdict (docs/PROTOCOL.md 3.3). In a
 * child, whose descriptors it may exhaust. */
static void test_reader_side_failure_is_an_error(void) {
    if (getenv("LIFESIGN_SKIP_FORK_TEST")) return;
    char p[4096], none[4096];
    path_in_tmp(p, sizeof p, "reader-side.json");
    path_in_tmp(none, sizeof none, "reader-side-none.json");
    lifesign_emitter *e = NULL;
    CHECK(lifesign_start(p, 3600000, &e) == LIFESIGN_OK);
    pid_t pid = fork();
    if (pid == 0) {
        while (open("/dev/null", O_RDONLY | O_CLOEXEC) >= 0) {
        }
        int ok = errno == EMFILE;
        lifesign_report r;
        lifesign_report_init(&r);
        ok = ok && lifesign_check(p, 0, 0, &r) == LIFESIGN_ERR_CANNOT_TELL;
        ok = ok && r.verdict == LIFESIGN_VERDICT_INVALID && strstr(r.detail, "Too many open files");
        ok = ok && strstr(lifesign_last_error(), "Too many open files");
        ok = ok && lifesign_is_alive(p, 0) == LIFESIGN_ERR_CANNOT_TELL;
        ok = ok && strcmp(lifesign_error_name(LIFESIGN_ERR_CANNOT_TELL), "LIFESIGN_ERR_CANNOT_TELL") == 0;
        lifesign_report_init(&r);
        ok = ok && lifesign_check(none, 0, 0, &r) == LIFESIGN_OK && r.verdict == LIFESIGN_VERDICT_MISSING;
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    lifesign_report r;
    lifesign_report_init(&r);
    CHECK(lifesign_check(p, 0, 0, &r) == LIFESIGN_OK && r.verdict == LIFESIGN_VERDICT_ALIVE);
    lifesign_free(e);
}

/* ---- edges the other tests do not reach -------------------------------- */

static void *other_thread_error(void *arg) {
    (void)arg;
    /* A fresh thread has no error of its own, whatever the main thread did. */
    int clean = lifesign_last_error()[0] == 0;
    lifesign_report r;
    lifesign_report_init(&r);
    int failed_here = lifesign_check(NULL, 0, 0, &r) == LIFESIGN_ERR_INVALID_ARGUMENT;
    return (void *)(intptr_t)(clean && failed_here && strstr(lifesign_last_error(), "path"));
}

static void test_edges(void) {
    char p[4096];
    lifesign_report r;
    lifesign_report_init(&r);
    lifesign_emitter *e = NULL;

    /* Intervals are clamped to [10 ms, 1 h]. */
    path_in_tmp(p, sizeof p, "clamp.json");
    CHECK(lifesign_start(p, 1, &e) == LIFESIGN_OK);
    CHECK(lifesign_check(p, 0, 0, &r) == LIFESIGN_OK && r.interval_ms == 10);
    lifesign_free(e);
    CHECK(lifesign_start(p, UINT32_MAX, &e) == LIFESIGN_OK);
    CHECK(lifesign_check(p, 0, 0, &r) == LIFESIGN_OK && r.interval_ms == 3600000);

    /* After stop: the failure count is still readable. */
    CHECK(lifesign_stop(e) == LIFESIGN_OK);
    uint64_t failures = 1;
    CHECK(lifesign_write_failures(e, &failures) == LIFESIGN_OK && failures == 0);
    lifesign_free(e);

    /* Options that are out of range. */
    lifesign_options o;
    lifesign_options_init(&o);
    o.notify_fd = -2;
    CHECK(lifesign_start_with(p, &o, &e) == LIFESIGN_ERR_INVALID_ARGUMENT && e == NULL);
    lifesign_options_init(&o);
    o.reserved = 12345;
    CHECK(lifesign_start_with(p, &o, &e) == LIFESIGN_ERR_INVALID_ARGUMENT && e == NULL);
    lifesign_options_init(&o);
    o.mode = 0666;
    CHECK(lifesign_start_with(p, &o, &e) == LIFESIGN_ERR_INVALID_ARGUMENT && e == NULL);
    CHECK(strstr(lifesign_last_error(), "world-writable") != NULL);
    o.mode = 04644;
    CHECK(lifesign_start_with(p, &o, &e) == LIFESIGN_ERR_INVALID_ARGUMENT && e == NULL);

    /* Paths that name no file. */
    CHECK(lifesign_start("/", 0, &e) != LIFESIGN_OK && e == NULL);
    CHECK(lifesign_start("..", 0, &e) != LIFESIGN_OK && e == NULL);
    path_in_tmp(p, sizeof p, "occupied");
    CHECK(mkdir(p, 0755) == 0);
    char inside[4096];
    join_path(inside, sizeof inside, p, "x");
    CHECK(close(open(inside, O_CREAT | O_WRONLY, 0644)) == 0);
    CHECK(lifesign_start(p, 0, &e) == LIFESIGN_ERR_IO && e == NULL);

    /* NULL reports and out-of-range PIDs. */
    CHECK(lifesign_check_stall(p, 0, 0, 1, NULL) == LIFESIGN_ERR_INVALID_ARGUMENT);
    lifesign_cancel *c = NULL;
    CHECK(lifesign_cancel_new(&c) == LIFESIGN_OK);
    CHECK(lifesign_wait_ready_cancel(p, 0, 0, 1, c, NULL) == LIFESIGN_ERR_INVALID_ARGUMENT);
    lifesign_cancel_free(c);
    CHECK(lifesign_check(p, 0, INT64_MIN, &r) == LIFESIGN_ERR_INVALID_ARGUMENT);
    CHECK(lifesign_check(p, 0, (int64_t)INT32_MAX + 1, &r) == LIFESIGN_ERR_INVALID_ARGUMENT);
    CHECK(r.verdict == LIFESIGN_VERDICT_INVALID);

    /* Non-UTF-8 everywhere text goes in. */
    CHECK(lifesign_is_alive("\xff", 0) == LIFESIGN_ERR_INVALID_ARGUMENT);
    path_in_tmp(p, sizeof p, "meta.json");
    CHECK(lifesign_start(p, 3600000, &e) == LIFESIGN_OK);
    CHECK(lifesign_set_meta(e, "\xff", "v") == LIFESIGN_ERR_INVALID_ARGUMENT);
    CHECK(lifesign_set_meta(e, "k", "\xfe") == LIFESIGN_ERR_INVALID_ARGUMENT);
    lifesign_free(e);

    /* Names of codes at the ends of the range. */
    CHECK(strcmp(lifesign_verdict_name(INT32_MIN), "unknown") == 0);
    CHECK(strcmp(lifesign_verdict_name(INT32_MAX), "unknown") == 0);
    CHECK(strcmp(lifesign_state_name(INT32_MIN), "unknown") == 0);
    CHECK(strcmp(lifesign_shape_name(INT32_MAX), "unknown") == 0);
    CHECK(strcmp(lifesign_error_name(INT32_MIN), "unknown") == 0);

    /* The last error belongs to the thread. */
    CHECK(lifesign_check(NULL, 0, 0, &r) == LIFESIGN_ERR_INVALID_ARGUMENT);
    pthread_t t;
    void *ok = NULL;
    CHECK(pthread_create(&t, NULL, other_thread_error, NULL) == 0);
    CHECK(pthread_join(t, &ok) == 0 && ok != NULL);
}

/* ---- growth-safe report, the reason, the log hook ------------------------ */

/* The report as a newer header might declare it: this one's fields, then
 * one appended. */
typedef struct newer_report {
    lifesign_report known;
    uint64_t appended;
} newer_report;

/* lifesign_check on a report of `size` in a heap block of `block` bytes
 * filled with 0xab (a write past the block is an AddressSanitizer or
 * valgrind error): refused with a message naming lifesign_report_init, and
 * nothing written. */
static void expect_size_refused(const char *p, uint32_t size, size_t block) {
    unsigned char *buf = (unsigned char *)malloc(block);
    CHECK(buf != NULL);
    if (!buf) return;
    memset(buf, 0xab, block);
    memcpy(buf, &size, sizeof size);
    CHECK(lifesign_check(p, 0, 0, (lifesign_report *)buf) == LIFESIGN_ERR_INVALID_ARGUMENT);
    CHECK(strstr(lifesign_last_error(), "lifesign_report_init") != NULL);
    CHECK(lifesign_wait_ready(p, 0, 0, 1, (lifesign_report *)buf) == LIFESIGN_ERR_INVALID_ARGUMENT);
    size_t i;
    int untouched = 1;
    for (i = sizeof size; i < block; i++) untouched &= buf[i] == 0xab;
    CHECK(untouched);
    free(buf);
}

static void test_report_growth(void) {
    char p[4096];
    path_in_tmp(p, sizeof p, "growth.json");
    lifesign_emitter *e = NULL;
    CHECK(lifesign_start(p, 3600000, &e) == LIFESIGN_OK);
    CHECK(lifesign_set_state(e, LIFESIGN_STATE_READY, "up") == LIFESIGN_OK);

    lifesign_report full;
    lifesign_report_init(&full);
    CHECK(full.size == sizeof full && full.verdict == 0 && full.detail[0] == 0);
    CHECK(sizeof full == 600); /* the 0.2 layout, as published */

    /* A size no release published: smaller than the first layout (a
     * struct that ends before `detail`, a size cutting a field), not a
     * multiple of 8, or the garbage of a report nobody initialised. */
    expect_size_refused(p, 0, sizeof full);
    expect_size_refused(p, 16, sizeof full);
    expect_size_refused(p, (uint32_t)offsetof(lifesign_report, detail), sizeof full);
    expect_size_refused(p, (uint32_t)offsetof(lifesign_report, seq) + 4, sizeof full);
    expect_size_refused(p, (uint32_t)sizeof full + 4, sizeof full + 4);
    expect_size_refused(p, 0x41414141u, sizeof full);

    /* A larger struct from a newer header: the fields this library knows
     * are written, the one it does not know is left as the caller set it. */
    newer_report *newer = (newer_report *)malloc(sizeof *newer);
    CHECK(newer != NULL);
    if (!newer) return;
    memset(newer, 0xab, sizeof *newer);
    newer->known.size = (uint32_t)sizeof *newer;
    CHECK(lifesign_check(p, 0, 0, &newer->known) == LIFESIGN_OK);
    CHECK(newer->known.size == sizeof *newer && newer->known.verdict == LIFESIGN_VERDICT_ALIVE);
    CHECK(newer->known.state == LIFESIGN_STATE_READY && newer->known.shape == LIFESIGN_SHAPE_V1);
    CHECK(newer->known.pid == getpid() && strcmp(newer->known.message, "up") == 0);
    CHECK(memchr(newer->known.detail, 0, sizeof newer->known.detail) != NULL);
    CHECK(newer->appended == 0xababababababababull);
    CHECK(lifesign_wait_ready(p, 0, 0, 0, &newer->known) == LIFESIGN_OK);
    CHECK(newer->known.verdict == LIFESIGN_VERDICT_ALIVE && newer->appended == 0xababababababababull);
    free(newer);

    /* Options: the same rule, naming lifesign_options_init. */
    struct {
        lifesign_options known;
        uint64_t appended;
    } newer_options;
    lifesign_emitter *e2 = NULL;
    char p2[4096];
    path_in_tmp(p2, sizeof p2, "growth-options.json");
    memset(&newer_options, 0xab, sizeof newer_options);
    lifesign_options_init(&newer_options.known);
    newer_options.known.size = (uint32_t)sizeof newer_options;
    CHECK(lifesign_start_with(p2, &newer_options.known, &e2) == LIFESIGN_OK && e2 != NULL);
    lifesign_free(e2);
    uint32_t refused[] = {8, (uint32_t)sizeof(lifesign_options) - 8, (uint32_t)sizeof(lifesign_options) + 4};
    size_t k;
    for (k = 0; k < sizeof refused / sizeof refused[0]; k++) {
        lifesign_options_init(&newer_options.known);
        newer_options.known.size = refused[k];
        e2 = (lifesign_emitter *)&k;
        CHECK(lifesign_start_with(p2, &newer_options.known, &e2) == LIFESIGN_ERR_INVALID_ARGUMENT);
        CHECK(e2 == NULL && strstr(lifesign_last_error(), "lifesign_options_init") != NULL);
    }

    /* A report nobody initialised is refused, and not written. */
    lifesign_report none;
    memset(&none, 0, sizeof none);
    CHECK(lifesign_check(p, 0, 0, &none) == LIFESIGN_ERR_INVALID_ARGUMENT);
    CHECK(strstr(lifesign_last_error(), "lifesign_report_init") != NULL);
    CHECK(none.size == 0 && none.verdict == 0 && none.pid == 0);
    lifesign_report_init(NULL);
    lifesign_free(e);
}

static void test_detail_says_why(void) {
    char p[4096];
    lifesign_report r;
    lifesign_report_init(&r);
    path_in_tmp(p, sizeof p, "garbage.json");
    FILE *f = fopen(p, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs("this is not json", f);
    fclose(f);
    CHECK(lifesign_check(p, 0, 0, &r) == LIFESIGN_OK && r.verdict == LIFESIGN_VERDICT_INVALID);
    CHECK(r.detail[0] != 0 && memchr(r.detail, 0, sizeof r.detail) != NULL);
    /* An argument error also leaves verdict invalid, and says why. */
    CHECK(lifesign_check(p, 0, -5, &r) == LIFESIGN_ERR_INVALID_ARGUMENT);
    CHECK(r.verdict == LIFESIGN_VERDICT_INVALID && strstr(r.detail, "expected_pid") != NULL);
}

static int log_calls;
static int32_t log_level_seen;
static char log_seen[512];
static void on_log(void *user_data, int32_t level, const char *message) {
    (*(int *)user_data)++;
    log_level_seen = level;
    snprintf(log_seen, sizeof log_seen, "%s", message);
}

static void test_log_handler(void) {
    char p[4096];
    path_in_tmp(p, sizeof p, "log.json");
    lifesign_options o;
    lifesign_options_init(&o);
    o.interval_ms = 3600000;
    o.notify_fd = 1000; /* not open: the library warns and carries on */
    close(1000);
    lifesign_emitter *e = NULL;

    CHECK(lifesign_set_log_handler(on_log, &log_calls, LIFESIGN_LOG_WARN) == LIFESIGN_OK);
    CHECK(lifesign_start_with(p, &o, &e) == LIFESIGN_OK);
    CHECK(log_calls == 1 && log_level_seen == LIFESIGN_LOG_WARN);
    CHECK(strstr(log_seen, "1000") != NULL);
    lifesign_free(e);

    /* Off: the handler hears nothing. */
    CHECK(lifesign_set_log_handler(on_log, &log_calls, LIFESIGN_LOG_OFF) == LIFESIGN_OK);
    CHECK(lifesign_start_with(p, &o, &e) == LIFESIGN_OK);
    CHECK(log_calls == 1);
    lifesign_free(e);

    CHECK(lifesign_set_log_handler(on_log, &log_calls, 99) == LIFESIGN_ERR_INVALID_ARGUMENT);
    CHECK(strcmp(lifesign_log_level_name(LIFESIGN_LOG_WARN), "warn") == 0);
    CHECK(strcmp(lifesign_log_level_name(99), "unknown") == 0);
    /* Back to the default: stderr at warn. */
    CHECK(lifesign_set_log_handler(NULL, NULL, LIFESIGN_LOG_WARN) == LIFESIGN_OK);
}

/* The next queued datagram into buf ("" when none is queued). */
static const char *next_datagram(int s, char *buf, size_t n) {
    ssize_t k = recv(s, buf, n - 1, MSG_DONTWAIT);
    buf[k < 0 ? 0 : k] = 0;
    return buf;
}

/* Reload and the work-driven watchdog, from C, over a real bound socket. */
static void test_systemd_reload_watchdog_and_barrier(void) {
    char p[4096], sp[4096], m[512];
    path_in_tmp(p, sizeof p, "notify-hb.json");
    path_in_tmp(sp, sizeof sp, "notify.sock");
    int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    CHECK(strlen(sp) < sizeof a.sun_path);
    memcpy(a.sun_path, sp, strlen(sp) < sizeof a.sun_path ? strlen(sp) : sizeof a.sun_path - 1);
    unlink(sp);
    CHECK(bind(s, (struct sockaddr *)&a, sizeof a) == 0);
    setenv("NOTIFY_SOCKET", sp, 1);
    setenv("WATCHDOG_USEC", "7200000000", 1);
    lifesign_options o;
    lifesign_options_init(&o);
    o.interval_ms = 3600000;
    o.flags = LIFESIGN_OPT_WATCHDOG_ON_PROGRESS;
    lifesign_emitter *e = NULL;
    CHECK(lifesign_start_with(p, &o, &e) == LIFESIGN_OK);
    unsetenv("NOTIFY_SOCKET"); /* read once, at start */
    unsetenv("WATCHDOG_USEC");
    lifesign_report r;
    lifesign_report_init(&r);
    CHECK(lifesign_set_state(e, LIFESIGN_STATE_READY, "up") == LIFESIGN_OK);
    CHECK(lifesign_reload(e, "reloading") == LIFESIGN_OK);
    CHECK(lifesign_check(p, 0, 0, &r) == LIFESIGN_OK && r.state == LIFESIGN_STATE_STARTING);
    CHECK(lifesign_set_state(e, LIFESIGN_STATE_READY, "up") == LIFESIGN_OK);
    CHECK(lifesign_beat(e) == LIFESIGN_OK); /* no progress: no ping */
    CHECK(lifesign_progress(e) == LIFESIGN_OK);
    CHECK(lifesign_beat(e) == LIFESIGN_OK);
    CHECK(lifesign_stop(e) == LIFESIGN_OK); /* the barrier is not answered: bounded */
    lifesign_free(e);
    CHECK(strcmp(next_datagram(s, m, sizeof m), "READY=1\nSTATUS=up") == 0);
    next_datagram(s, m, sizeof m);
    CHECK(strncmp(m, "RELOADING=1\nMONOTONIC_USEC=", 27) == 0);
    CHECK(strstr(m, "\nSTATUS=reloading") != NULL);
    CHECK(strcmp(next_datagram(s, m, sizeof m), "EXTEND_TIMEOUT_USEC=10800000000") == 0);
    CHECK(strcmp(next_datagram(s, m, sizeof m), "READY=1\nSTATUS=up") == 0);
    CHECK(strcmp(next_datagram(s, m, sizeof m), "WATCHDOG=1") == 0);
    CHECK(strcmp(next_datagram(s, m, sizeof m), "STOPPING=1") == 0);
    CHECK(strcmp(next_datagram(s, m, sizeof m), "BARRIER=1") == 0);
    CHECK(strcmp(next_datagram(s, m, sizeof m), "") == 0);
    CHECK(lifesign_reload(NULL, NULL) == LIFESIGN_ERR_INVALID_ARGUMENT);
    close(s);
    unlink(sp);
}

int main(void) {
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/lifesign-ctest-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    test_names_and_version();
    test_bad_arguments();
    test_vectors();
    test_judge_arguments();
    test_emitter_lifecycle();
    test_options_and_error_callback();
    test_start_from_env();
    test_not_regular_files();
    test_cross_process_kill_and_wait();
    test_wait_timeout_and_cancel();
    test_fork_child_refused();
    test_reader_side_failure_is_an_error();
    test_edges();
    test_systemd_reload_watchdog_and_barrier();
    test_report_growth();
    test_detail_says_why();
    test_log_handler();
    run_cmd("rm -rf '%s'", tmpdir);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
