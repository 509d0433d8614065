/* The version in lifesign.h and the one the library reports at run time both
 * equal the crate's version in Cargo.toml. CMake passes the Cargo.toml values
 * as LIFESIGN_EXPECTED_VERSION (full string) and LIFESIGN_EXPECTED_MAJOR,
 * _MINOR, _PATCH. Also compiled as C++ and against the static archive. */
#include <lifesign.h>

#include <stdio.h>
#include <string.h>

#ifndef LIFESIGN_EXPECTED_VERSION
#error "build with -DLIFESIGN_EXPECTED_VERSION=\"x.y.z\" (taken from Cargo.toml)"
#endif

static int failures = 0;

static void expect_number(const char *what, long long got, long long want)
{
    if (got != want) {
        fprintf(stderr, "FAIL: %s is %lld, Cargo.toml says %lld\n", what, got, want);
        failures++;
    }
}

static void expect_string(const char *what, const char *got, const char *want)
{
    if (got == NULL || strcmp(got, want) != 0) {
        fprintf(stderr, "FAIL: %s is \"%s\", Cargo.toml says \"%s\"\n", what,
                got != NULL ? got : "(null)", want);
        failures++;
    }
}

int main(void)
{
    char composed[64];
    const char *runtime = lifesign_version();

    expect_number("LIFESIGN_VERSION_MAJOR", (long long)LIFESIGN_VERSION_MAJOR,
                  (long long)LIFESIGN_EXPECTED_MAJOR);
    expect_number("LIFESIGN_VERSION_MINOR", (long long)LIFESIGN_VERSION_MINOR,
                  (long long)LIFESIGN_EXPECTED_MINOR);
    expect_number("LIFESIGN_VERSION_PATCH", (long long)LIFESIGN_VERSION_PATCH,
                  (long long)LIFESIGN_EXPECTED_PATCH);
    expect_string("LIFESIGN_VERSION_STRING", LIFESIGN_VERSION_STRING, LIFESIGN_EXPECTED_VERSION);
    expect_string("lifesign_version()", runtime, LIFESIGN_EXPECTED_VERSION);

    /* The string starts with MAJOR.MINOR.PATCH (a pre-release suffix may follow). */
    snprintf(composed, sizeof composed, "%lld.%lld.%lld", (long long)LIFESIGN_VERSION_MAJOR,
             (long long)LIFESIGN_VERSION_MINOR, (long long)LIFESIGN_VERSION_PATCH);
    if (strncmp(LIFESIGN_VERSION_STRING, composed, strlen(composed)) != 0) {
        fprintf(stderr, "FAIL: LIFESIGN_VERSION_STRING \"%s\" does not start with %s\n",
                LIFESIGN_VERSION_STRING, composed);
        failures++;
    }

    if (failures != 0) {
        return 1;
    }
    printf("header %s, library %s, Cargo.toml %s\n", LIFESIGN_VERSION_STRING, runtime,
           LIFESIGN_EXPECTED_VERSION);
    return 0;
}
