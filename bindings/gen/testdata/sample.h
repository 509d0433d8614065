/*
 * A header in the shapes cbindgen emits for C, beyond what lifesign.h has
 * today: the generator's own tests (test_bindgen.py) read it.
 */

#ifndef SAMPLE_H
#define SAMPLE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define SAMPLE_VERSION_STRING "1.2.3"
#define SAMPLE_JOINED "a\tb" "\x41"
#define SAMPLE_DETAIL_BYTES 128
#define SAMPLE_ALL_BITS (~0u)
#define SAMPLE_NEGATIVE ((int32_t)-7)
#define SAMPLE_SHIFTED (1 << 4)
#define SAMPLE_OCTAL 010
#define SAMPLE_HEX 0x7fffffff
#define SAMPLE_BIG UINT64_MAX
#define SAMPLE_CHAR '\n'
#define SAMPLE_SUM (SAMPLE_SHIFTED + SAMPLE_OCTAL * 2 - 1)
#define SAMPLE_INIT { sizeof(sample_report) }
#define SAMPLE_IDENTITY(x) (x)

/* cbindgen's repr(i32) enum in C. */
enum sample_level {
  SAMPLE_LEVEL_ERROR = 1,
  SAMPLE_LEVEL_WARN,
  SAMPLE_LEVEL_INFO = SAMPLE_LEVEL_WARN + 2,
};
typedef int32_t sample_level;

typedef enum sample_kind {
  SAMPLE_KIND_A,
  SAMPLE_KIND_B,
} sample_kind;

typedef uint32_t sample_flags;

static const uint32_t SAMPLE_STATIC_LIMIT = (uint32_t)1 << 20;

typedef struct sample_handle sample_handle;

typedef void (*sample_log_fn)(void *user_data, sample_level level, const char *message);

typedef struct sample_report {
  uint32_t size;
  int32_t verdict;
  int64_t pid;
  char detail[SAMPLE_DETAIL_BYTES];
  uint8_t small;
  bool ok;
  sample_kind kind;
  sample_flags flags;
  uint16_t pad16;
  uint64_t at_ms;
  sample_log_fn on_log;
  const char *name;
  void *user_data;
  void (*on_done)(void *user_data);
} sample_report;

typedef struct {
  int32_t x;
  sample_report *report;
} sample_pair;

typedef void (*sample_report_fn)(const sample_report *report, void *user_data);

struct sample_node {
  uint64_t value;
  struct sample_node *next;
};

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

void sample_report_init(struct sample_report *report);

void sample_set_log_handler(sample_log_fn handler, void *user_data, sample_level min_level);

int32_t sample_open(const char *path, sample_flags flags, sample_handle **out);

size_t sample_describe(const struct sample_node *node, char buf[], uintptr_t len);

const char *sample_version(void);

void sample_watch(sample_report_fn on_report, void *user_data);

void sample_on_exit(void (*hook)(void *data, int32_t code), void *data);

sample_pair sample_pair_of(const sample_pair *pair);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* SAMPLE_H */
