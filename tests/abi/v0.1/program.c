/* A launcher as it was written against lifesign 0.1 (tests/abi/v0.1/
 * lifesign.h, the header of the 0.1.0 release): a report on the stack,
 * uninitialised as any local, handed to lifesign_check. Against the 0.2
 * library this call would write a report 0.2 bytes long into a 0.1 struct
 * (600 bytes where the caller has 344: 256 bytes past its end); the SONAME keeps the two apart. */
#include <stdio.h>
#include <string.h>

#include "lifesign.h"

int main(int argc, char **argv) {
    lifesign_report report;
    int32_t rc;
    memset(&report, 0x41, sizeof report);
    rc = lifesign_check(argc > 1 ? argv[1] : "/nonexistent", 0, 0, &report);
    printf("started: lifesign_check returned %d\n", rc);
    return 0;
}
