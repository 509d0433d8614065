/* A C program using liblifesign the way an application would: start an
 * emitter, see it alive, mark it ready, stop it, see it stopped. Built by every
 * consumer route (find_package, add_subdirectory, pkg-config) and run after
 * the build. Exit status 0 means every step behaved. */
#define _POSIX_C_SOURCE 200809L

#include <lifesign.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Generous: only a process frozen for an hour would see "stale". */
#define MAX_AGE_MS 3600000u

static int failures = 0;

static void expect_ok(const char *what, int32_t rc)
{
    if (rc != LIFESIGN_OK) {
        const char *detail = lifesign_last_error();
        fprintf(stderr, "FAIL: %s returned %s: %s\n", what, lifesign_error_name(rc),
                detail != NULL ? detail : "(no message)");
        failures++;
    }
}

static void expect_report(const char *when, const char *path, int32_t verdict, int32_t state)
{
    lifesign_report report;
    lifesign_report_init(&report);
    expect_ok("lifesign_check", lifesign_check(path, MAX_AGE_MS, (int64_t)getpid(), &report));
    if (report.verdict != verdict || report.state != state) {
        fprintf(stderr, "FAIL: %s: verdict %s state %s, expected verdict %s state %s\n", when,
                lifesign_verdict_name(report.verdict), lifesign_state_name(report.state),
                lifesign_verdict_name(verdict), lifesign_state_name(state));
        failures++;
    }
    if (report.pid != (int64_t)getpid()) {
        fprintf(stderr, "FAIL: %s: pid %lld in the file, this process is %lld\n", when,
                (long long)report.pid, (long long)getpid());
        failures++;
    }
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    char dir[4096];
    char path[4200];
    lifesign_emitter *emitter = NULL;

    if (tmp == NULL || tmp[0] == '\0') {
        tmp = "/tmp";
    }
    snprintf(dir, sizeof dir, "%s/lifesign-consumer-XXXXXX", tmp);
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    snprintf(path, sizeof path, "%s/heartbeat.json", dir);

    expect_ok("lifesign_start", lifesign_start(path, 100, &emitter));
    if (emitter == NULL) {
        fprintf(stderr, "FAIL: lifesign_start gave no emitter\n");
        rmdir(dir);
        return 1;
    }
    expect_report("after start", path, LIFESIGN_VERDICT_ALIVE, LIFESIGN_STATE_STARTING);

    expect_ok("lifesign_set_state", lifesign_set_state(emitter, LIFESIGN_STATE_READY, "serving"));
    expect_report("after set_state(ready)", path, LIFESIGN_VERDICT_ALIVE, LIFESIGN_STATE_READY);
    if (lifesign_is_alive(path, MAX_AGE_MS) != 1) {
        fprintf(stderr, "FAIL: lifesign_is_alive does not report the running emitter\n");
        failures++;
    }

    expect_ok("lifesign_stop", lifesign_stop(emitter));
    expect_report("after stop", path, LIFESIGN_VERDICT_STOPPED, LIFESIGN_STATE_STOPPED);
    if (lifesign_beat(emitter) != LIFESIGN_ERR_STATE) {
        fprintf(stderr, "FAIL: lifesign_beat after stop did not return LIFESIGN_ERR_STATE\n");
        failures++;
    }
    lifesign_free(emitter);

    remove(path);
    rmdir(dir);
    if (failures != 0) {
        return 1;
    }
    printf("consumer (C): lifesign %s started, alive, stopped\n", lifesign_version());
    return 0;
}
