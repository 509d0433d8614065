/* include/lifesign.h alone, compiled in every language mode it promises:
 * C99 and C11, C++11 and C++17, each with -pedantic -Wall -Wextra -Werror
 * (make test-c). */
#include "lifesign.h"

int main(void) {
    lifesign_report report;
    lifesign_options options;
    lifesign_report_init(&report);
    lifesign_options_init(&options);
    options.flags = LIFESIGN_OPT_NO_LOCK;
    return lifesign_check("/nonexistent", 0, 0, &report) == LIFESIGN_OK &&
                   report.verdict == LIFESIGN_VERDICT_MISSING
               ? 0
               : 1;
}
