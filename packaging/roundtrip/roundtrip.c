/* The install round trip of `make test-dist`, for C and (compiled as C++)
 * for C++: `roundtrip FILE` starts `roundtrip emit FILE` as a child, waits
 * for it to become ready, checks it, kills it with SIGKILL and reads
 * process_gone. Prints where the library code was loaded from. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lifesign.h>

static int fail(const char *what, int32_t rc) {
    fprintf(stderr, "roundtrip: %s failed: %s (%s)\n", what, lifesign_error_name(rc),
            lifesign_last_error() ? lifesign_last_error() : "");
    return 1;
}

static int expect(const lifesign_report *r, int32_t verdict, int32_t state, const char *when) {
    if (r->verdict == verdict && (state < 0 || r->state == state)) return 0;
    fprintf(stderr, "roundtrip: %s: verdict %s state %s, expected %s\n", when,
            lifesign_verdict_name(r->verdict), lifesign_state_name(r->state),
            lifesign_verdict_name(verdict));
    return 1;
}

static int emit(const char *path) {
    lifesign_emitter *e = NULL;
    int32_t rc = lifesign_start(path, 1000, &e);
    if (rc != LIFESIGN_OK) return fail("lifesign_start", rc);
    printf("started\n");
    fflush(stdout);
    rc = lifesign_set_state(e, LIFESIGN_STATE_READY, "serving");
    if (rc != LIFESIGN_OK) return fail("lifesign_set_state", rc);
    for (;;) pause();
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "emit") == 0) return emit(argv[2]);
    if (argc != 2) {
        fprintf(stderr, "usage: %s FILE\n", argv[0]);
        return 2;
    }
    const char *path = argv[1];
    int fds[2];
    if (pipe(fds) != 0) return 1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl("/proc/self/exe", argv[0], "emit", path, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *child = fdopen(fds[0], "r");
    char line[64] = {0};
    if (!child || !fgets(line, sizeof line, child) || strcmp(line, "started\n") != 0) {
        fprintf(stderr, "roundtrip: the emitter did not start\n");
        return 1;
    }

    lifesign_report r;
    lifesign_report_init(&r);
    int32_t rc = lifesign_wait_ready(path, (int64_t)pid, 0, 60000, &r);
    if (rc != LIFESIGN_OK) return fail("lifesign_wait_ready", rc);
    if (expect(&r, LIFESIGN_VERDICT_ALIVE, LIFESIGN_STATE_READY, "wait_ready")) return 1;

    lifesign_report_init(&r);
    rc = lifesign_check(path, 0, (int64_t)pid, &r);
    if (rc != LIFESIGN_OK) return fail("lifesign_check", rc);
    if (expect(&r, LIFESIGN_VERDICT_ALIVE, LIFESIGN_STATE_READY, "check while running")) return 1;

    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    lifesign_report_init(&r);
    rc = lifesign_check(path, 0, 0, &r);
    if (rc != LIFESIGN_OK) return fail("lifesign_check", rc);
    if (expect(&r, LIFESIGN_VERDICT_PROCESS_GONE, -1, "check after kill -9")) return 1;

    Dl_info info;
    memset(&info, 0, sizeof info);
    if (!dladdr((void *)lifesign_version, &info) || !info.dli_fname) return 1;
    /* How process_gone was found: the lifetime lock, or /proc. */
    printf("gone: %s\n", r.detail);
    printf("library: %s\nversion: %s\nround trip: ok\n", info.dli_fname, lifesign_version());
    return 0;
}
