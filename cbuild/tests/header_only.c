/* lifesign.h on its own compiles as strict C99 with -pedantic-errors. */
#include <lifesign.h>

int lifesign_header_c99_probe(void);

int lifesign_header_c99_probe(void)
{
    lifesign_report report;
    lifesign_options options;
    lifesign_error_fn callback = 0;
    report.verdict = LIFESIGN_VERDICT_ALIVE;
    options.flags = LIFESIGN_OPT_DURABLE | LIFESIGN_OPT_REMOVE_ON_STOP;
    (void)callback;
    return (int)sizeof report.message + (int)options.flags + report.verdict;
}
