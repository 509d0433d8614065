/* Prints the size and field offsets of the ABI structures as name=value
 * lines, so that the tests can compare them with the ctypes declarations. */
#include <stddef.h>
#include <stdio.h>

#include "lifesign.h"

#define FIELD(type, field) printf(#type "." #field "=%zu\n", offsetof(type, field))

int main(void) {
    printf("lifesign_report=%zu\n", sizeof(lifesign_report));
    FIELD(lifesign_report, size);
    FIELD(lifesign_report, verdict);
    FIELD(lifesign_report, state);
    FIELD(lifesign_report, shape);
    FIELD(lifesign_report, pid);
    FIELD(lifesign_report, seq);
    FIELD(lifesign_report, progress);
    FIELD(lifesign_report, updated_at_ms);
    FIELD(lifesign_report, age_ms);
    FIELD(lifesign_report, interval_ms);
    FIELD(lifesign_report, progress_at_ms);
    FIELD(lifesign_report, progress_age_ms);
    FIELD(lifesign_report, max_age_ms);
    FIELD(lifesign_report, message);
    FIELD(lifesign_report, detail);
    printf("lifesign_options=%zu\n", sizeof(lifesign_options));
    FIELD(lifesign_options, size);
    FIELD(lifesign_options, interval_ms);
    FIELD(lifesign_options, mode);
    FIELD(lifesign_options, flags);
    FIELD(lifesign_options, stale_after_ms);
    FIELD(lifesign_options, notify_fd);
    FIELD(lifesign_options, reserved);
    FIELD(lifesign_options, on_error);
    FIELD(lifesign_options, user_data);
    return 0;
}
