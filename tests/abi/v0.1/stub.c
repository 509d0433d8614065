/* Stands in for the 0.1 library at link time only: what a program built
 * against 0.1 records is the 0.1 library's SONAME, liblifesign.so.0
 * (build.rs of 0.1.0: liblifesign.so.MAJOR), and that is all this file
 * gives it. tests/abi/run.sh links program.c against it, as such a program
 * was linked against the real one, then runs it where only the new library
 * is installed. */
#include "lifesign.h"

int32_t lifesign_check(const char *path, uint64_t max_age_ms, int64_t expected_pid,
                       struct lifesign_report *out) {
    (void)path;
    (void)max_age_ms;
    (void)expected_pid;
    (void)out;
    return 0;
}
