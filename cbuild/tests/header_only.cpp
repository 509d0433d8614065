// lifesign.h on its own compiles as strict C++11 with -pedantic-errors.
#include <lifesign.h>

int lifesign_header_cxx11_probe();

int lifesign_header_cxx11_probe()
{
    lifesign_report report = {};
    lifesign_options options = {};
    const char *(*version)(void) = &lifesign_version;
    options.flags = LIFESIGN_OPT_NO_SYSTEMD | LIFESIGN_OPT_NO_S6;
    return static_cast<int>(sizeof report.message) + static_cast<int>(options.flags) +
           report.verdict + (version != nullptr ? 1 : 0);
}
