/* A C emitter for the cross-language tests, speaking the line protocol of
 * tests/README.md (every line it prints starts with "@@ ").
 *
 * Usage: emit PATH MESSAGE
 * Starts an emitter on PATH (50 ms interval) and says "started pid=PID",
 * then answers each command on standard input with "ok" or "err ...":
 * "ready" sets the state ready with MESSAGE, "stop" stops. At the end of
 * its input it stops, frees and exits 0. A failed start says
 * "err ..." and exits 1.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lifesign.h"

static void answer(const char *what, int32_t rc) {
    if (rc == LIFESIGN_OK)
        printf("@@ ok\n");
    else
        printf("@@ err %s %s %s\n", what, lifesign_error_name(rc), lifesign_last_error());
    fflush(stdout);
}

int main(int argc, char **argv) {
    char line[256];
    lifesign_emitter *e = NULL;
    int32_t rc;

    if (argc != 3) {
        fprintf(stderr, "usage: emit PATH MESSAGE\n");
        return 2;
    }
    rc = lifesign_start(argv[1], 50, &e);
    if (rc != LIFESIGN_OK) {
        answer("start", rc);
        return 1;
    }
    printf("@@ started pid=%ld\n", (long)getpid());
    fflush(stdout);

    while (fgets(line, sizeof line, stdin) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (strcmp(line, "ready") == 0)
            answer("set_state", lifesign_set_state(e, LIFESIGN_STATE_READY, argv[2]));
        else if (strcmp(line, "stop") == 0)
            answer("stop", lifesign_stop(e));
        else {
            printf("@@ err unknown command %s\n", line);
            fflush(stdout);
        }
    }
    rc = lifesign_stop(e);
    lifesign_free(e);
    return rc == LIFESIGN_OK ? 0 : 1;
}
