/* A C checker for the cross-language tests.
 *
 * Usage: check PATH EXPECTED_PID
 * Prints the report of lifesign_check (max age from the file) as
 * key=value lines and exits 0, or prints the library's error and exits 1.
 */
#include <stdio.h>
#include <stdlib.h>

#include "lifesign.h"

int main(int argc, char **argv) {
    lifesign_report r;
    lifesign_report_init(&r);
    int32_t rc;

    if (argc != 3) {
        fprintf(stderr, "usage: check PATH EXPECTED_PID\n");
        return 2;
    }
    rc = lifesign_check(argv[1], 0, strtoll(argv[2], NULL, 10), &r);
    if (rc != LIFESIGN_OK) {
        printf("error %s %s\n", lifesign_error_name(rc), lifesign_last_error());
        return 1;
    }
    printf("verdict=%s\n", lifesign_verdict_name(r.verdict));
    printf("state=%s\n", r.state < 0 ? "none" : lifesign_state_name(r.state));
    printf("shape=%s\n", lifesign_shape_name(r.shape));
    printf("pid=%lld\n", (long long)r.pid);
    printf("seq=%llu\n", (unsigned long long)r.seq);
    printf("progress=%llu\n", (unsigned long long)r.progress);
    printf("message=%s\n", r.message);
    return 0;
}
