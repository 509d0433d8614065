/* A C emitter for the cross-language tests.
 *
 * Usage: emit PATH MESSAGE
 * Starts an emitter on PATH and prints "started PID". On the first line of
 * standard input it sets the state ready with MESSAGE and prints "ready";
 * on the second line (or end of input) it stops, frees, prints "stopped"
 * and exits 0. Any failure prints the library's error and exits 1.
 */
#include <stdio.h>
#include <unistd.h>

#include "lifesign.h"

static int fail(const char *what, int32_t rc) {
    printf("error %s %s %s\n", what, lifesign_error_name(rc), lifesign_last_error());
    fflush(stdout);
    return 1;
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
    if (rc != LIFESIGN_OK)
        return fail("start", rc);
    printf("started %ld\n", (long)getpid());
    fflush(stdout);

    if (fgets(line, sizeof line, stdin) != NULL) {
        rc = lifesign_set_state(e, LIFESIGN_STATE_READY, argv[2]);
        if (rc != LIFESIGN_OK)
            return fail("set_state", rc);
        printf("ready\n");
        fflush(stdout);
        (void)fgets(line, sizeof line, stdin);
    }
    rc = lifesign_stop(e);
    if (rc != LIFESIGN_OK)
        return fail("stop", rc);
    lifesign_free(e);
    printf("stopped\n");
    fflush(stdout);
    return 0;
}
