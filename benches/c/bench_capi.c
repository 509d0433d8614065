/*
 * Per-call cost of lifesign_check and lifesign_beat through the C ABI
 * (liblifesign.so), printed as one JSON object per line:
 *   {"lang":"c","backend":"shared","op":"check"|"beat","ns_per_call":N,"calls":N}
 *
 * check: a heartbeat kept by a separate process (a forked child running an
 * emitter at 1 s). beat: an emitter of this process. Both in DIR (default
 * /dev/shm). Each figure is the median of REPS batches of about 150 ms.
 *
 * Then each against its floor, the floor and the call timed in turn (REPS
 * repetitions of batches of about 150 ms a side, the two sides taking
 * turns in ten slices), as one ratio record per call:
 *   {"kind":"ratio","id":"c.check.tmpfs"|"c.beat.tmpfs","ratio":R,...}
 * the check floor being open, read and close of the heartbeat and
 * kill(pid, 0); the beat floor the same bytes written to a fresh temporary
 * (O_CREAT|O_EXCL), closed and renamed over the target.
 *
 * Usage: bench_capi [DIR] [REPS]
 *        bench_capi count OP N [DIR]
 *
 * The count mode makes N calls of OP (check, beat, floor-check, floor-beat)
 * without timing, for a syscall count under `perf stat`: the floors are the
 * raw syscalls that the benchmarks compare against (open, read, close and
 * kill(pid, 0) for a check; open, write, close and rename for a beat).
 */
#define _GNU_SOURCE
#include "lifesign.h"

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef int (*op_fn)(void *ctx);

/* How many calls of f make a batch of about 150 ms. */
static uint64_t calibrate(op_fn f, void *ctx) {
    for (int i = 0; i < 3; i++) f(ctx);
    uint64_t n = 1, elapsed = 0;
    for (;;) {
        uint64_t t = now_ns();
        for (uint64_t i = 0; i < n; i++) f(ctx);
        elapsed = now_ns() - t;
        if (elapsed >= 20000000u || n >= (1u << 24)) break;
        n *= 2;
    }
    uint64_t calls = (uint64_t)(150e6 / ((double)elapsed / (double)n));
    return calls < 5 ? 5 : calls;
}

/* ns per call over one batch of `calls` calls. */
static double batch(op_fn f, void *ctx, uint64_t calls) {
    uint64_t t = now_ns();
    for (uint64_t i = 0; i < calls; i++) {
        if (f(ctx) != 0) {
            fprintf(stderr, "bench_capi: a call failed: %s\n", lifesign_last_error());
            exit(1);
        }
    }
    return (double)(now_ns() - t) / (double)calls;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof v[0], cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The median ns per call over reps batches of about 150 ms each. */
static double measure(op_fn f, void *ctx, int reps, uint64_t *calls_out) {
    uint64_t calls = calibrate(f, ctx);
    double samples[64];
    if (reps > 64) reps = 64;
    for (int r = 0; r < reps; r++) samples[r] = batch(f, ctx, calls);
    *calls_out = calls;
    return median(samples, reps);
}

/* The slices each side's batch is cut into: the floor and the call take
 * turns slice by slice, so that a burst of the machine's other work lands
 * on both sides of a repetition rather than on one. */
#define SLICES 10

/* The floor and the call timed in turn, reps repetitions of a batch of
 * about 150 ms a side in SLICES slices (which goes first alternating);
 * prints one ratio record (the medians of each side and of the
 * per-repetition ratios). */
static void paired(const char *id, op_fn floor_f, void *floor_ctx, op_fn lib_f, void *lib_ctx,
                   int reps, double target) {
    uint64_t nb = calibrate(floor_f, floor_ctx) / SLICES, nl = calibrate(lib_f, lib_ctx) / SLICES;
    if (nb < 1) nb = 1;
    if (nl < 1) nl = 1;
    double base[64], lib[64], ratio[64];
    if (reps > 64) reps = 64;
    for (int r = 0; r < reps; r++) {
        base[r] = lib[r] = 0;
        for (int s = 0; s < SLICES; s++) {
            if ((r + s) % 2 == 0) {
                base[r] += batch(floor_f, floor_ctx, nb) / SLICES;
                lib[r] += batch(lib_f, lib_ctx, nl) / SLICES;
            } else {
                lib[r] += batch(lib_f, lib_ctx, nl) / SLICES;
                base[r] += batch(floor_f, floor_ctx, nb) / SLICES;
            }
        }
        ratio[r] = lib[r] / base[r];
    }
    double lo = ratio[0], hi = ratio[0];
    for (int r = 1; r < reps; r++) {
        if (ratio[r] < lo) lo = ratio[r];
        if (ratio[r] > hi) hi = ratio[r];
    }
    printf("{\"kind\": \"ratio\", \"id\": \"%s\", \"fs\": \"tmpfs\", \"base_ns\": %.2f, "
           "\"lib_ns\": %.2f, \"ratio\": %.3f, \"ratio_min\": %.3f, \"ratio_max\": %.3f, "
           "\"reps\": %d, \"target\": %g}\n",
           id, median(base, reps), median(lib, reps), median(ratio, reps), lo, hi, reps, target);
    fflush(stdout);
}

/* The check floor: open, read and close of the heartbeat, kill(pid, 0). */
struct floor_check_ctx {
    const char *path;
    pid_t pid;
};

static int do_floor_check(void *p) {
    struct floor_check_ctx *c = p;
    char buf[4096];
    int fd = open(c->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 1;
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    return n <= 0 || kill(c->pid, 0) != 0;
}

/* The beat floor: the same bytes to a fresh temporary, renamed over the target. */
struct floor_beat_ctx {
    char tmp[4096], path[4096], bytes[4096];
    size_t len;
};

static int do_floor_beat(void *p) {
    struct floor_beat_ctx *c = p;
    int fd = open(c->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return 1;
    ssize_t n = write(fd, c->bytes, c->len);
    close(fd);
    return n != (ssize_t)c->len || rename(c->tmp, c->path) != 0;
}

struct check_ctx {
    const char *path;
    lifesign_report report;
};

static int do_check(void *p) {
    struct check_ctx *c = p;
    int rc = lifesign_check(c->path, 0, 0, &c->report);
    return rc != LIFESIGN_OK || c->report.verdict != LIFESIGN_VERDICT_ALIVE;
}

static int do_beat(void *p) {
    return lifesign_beat((lifesign_emitter *)p);
}

/* Starts the emitter of `path` in a child process, running until *stop_fd
 * is closed; returns its PID. */
static pid_t start_child_emitter(const char *path, int *stop_fd) {
    int stop_pipe[2], ready_pipe[2];
    if (pipe(stop_pipe) != 0 || pipe(ready_pipe) != 0) exit(1);
    pid_t child = fork();
    if (child < 0) exit(1);
    if (child == 0) {
        close(stop_pipe[1]);
        close(ready_pipe[0]);
        lifesign_emitter *e = NULL;
        if (lifesign_start(path, 1000, &e) != LIFESIGN_OK) _exit(1);
        lifesign_set_state(e, LIFESIGN_STATE_READY, "serving");
        if (write(ready_pipe[1], "r", 1) != 1) _exit(1);
        char c;
        while (read(stop_pipe[0], &c, 1) > 0) {
        }
        lifesign_free(e);
        _exit(0);
    }
    close(stop_pipe[0]);
    close(ready_pipe[1]);
    char c;
    if (read(ready_pipe[0], &c, 1) != 1) {
        fprintf(stderr, "bench_capi: the emitter process did not start\n");
        exit(1);
    }
    close(ready_pipe[0]);
    *stop_fd = stop_pipe[1];
    return child;
}

static int count_mode(const char *op, long n, const char *dir) {
    /* The floors are the ones the paired measurements time. */
    static struct floor_beat_ctx fb;
    snprintf(fb.path, sizeof fb.path, "%s/c-count.json", dir);
    snprintf(fb.tmp, sizeof fb.tmp, "%s/.c-count.json.tmp", dir);
    int stop_fd = -1;
    pid_t child = start_child_emitter(fb.path, &stop_fd);
    struct floor_check_ctx fc = {.path = fb.path, .pid = child};
    lifesign_report report;
    lifesign_report_init(&report);
    lifesign_emitter *e = NULL;
    int fd = open(fb.path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t r = read(fd, fb.bytes, sizeof fb.bytes);
        fb.len = r > 0 ? (size_t)r : 0;
        close(fd);
    }
    if (strcmp(op, "beat") == 0) {
        if (lifesign_start(fb.tmp, 3600000, &e) != LIFESIGN_OK) return 1;
        lifesign_set_state(e, LIFESIGN_STATE_READY, "serving");
    }
    if (strcmp(op, "check") == 0) lifesign_check(fb.path, 0, 0, &report); /* warm the cache */
    for (long i = 0; i < n; i++) {
        if (strcmp(op, "check") == 0) {
            lifesign_check(fb.path, 0, 0, &report);
        } else if (strcmp(op, "beat") == 0) {
            lifesign_beat(e);
        } else if (strcmp(op, "floor-check") == 0) {
            if (do_floor_check(&fc) != 0) return 1;
        } else if (strcmp(op, "floor-beat") == 0) {
            if (do_floor_beat(&fb) != 0) return 1;
        } else {
            fprintf(stderr, "bench_capi: unknown op %s\n", op);
            return 2;
        }
    }
    if (e) lifesign_free(e);
    close(stop_fd);
    waitpid(child, NULL, 0);
    unlink(fb.path);
    unlink(fb.tmp);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 3 && strcmp(argv[1], "count") == 0)
        return count_mode(argv[2], atol(argv[3]), argc > 4 ? argv[4] : "/dev/shm");
    const char *dir = argc > 1 ? argv[1] : "/dev/shm";
    int reps = argc > 2 ? atoi(argv[2]) : 7;
    if (reps < 1) reps = 7;
    char check_path[4096], beat_path[4096];
    snprintf(check_path, sizeof check_path, "%s/c-check.json", dir);
    snprintf(beat_path, sizeof beat_path, "%s/c-beat.json", dir);

    int stop_fd = -1;
    pid_t child = start_child_emitter(check_path, &stop_fd);

    struct check_ctx cc = {.path = check_path};
    lifesign_report_init(&cc.report);
    if (do_check(&cc) != 0 || cc.report.pid != child) {
        fprintf(stderr, "bench_capi: unexpected heartbeat (verdict %s)\n",
                lifesign_verdict_name(cc.report.verdict));
        return 1;
    }
    uint64_t calls = 0;
    double ns = measure(do_check, &cc, reps, &calls);
    printf("{\"lang\": \"c\", \"backend\": \"shared\", \"op\": \"check\", \"ns_per_call\": %.0f, "
           "\"calls\": %llu}\n",
           ns, (unsigned long long)calls);
    fflush(stdout);
    struct floor_check_ctx fc = {.path = check_path, .pid = child};
    paired("c.check.tmpfs", do_floor_check, &fc, do_check, &cc, reps, 1.5);
    close(stop_fd);
    waitpid(child, NULL, 0);

    lifesign_emitter *e = NULL;
    if (lifesign_start(beat_path, 3600000, &e) != LIFESIGN_OK) {
        fprintf(stderr, "bench_capi: lifesign_start: %s\n", lifesign_last_error());
        return 1;
    }
    lifesign_set_state(e, LIFESIGN_STATE_READY, "serving");
    ns = measure(do_beat, e, reps, &calls);
    printf("{\"lang\": \"c\", \"backend\": \"shared\", \"op\": \"beat\", \"ns_per_call\": %.0f, "
           "\"calls\": %llu}\n",
           ns, (unsigned long long)calls);
    static struct floor_beat_ctx fb;
    snprintf(fb.path, sizeof fb.path, "%s/c-floor.json", dir);
    snprintf(fb.tmp, sizeof fb.tmp, "%s/.c-floor.json.tmp", dir);
    int bfd = open(beat_path, O_RDONLY | O_CLOEXEC);
    ssize_t blen = bfd < 0 ? -1 : read(bfd, fb.bytes, sizeof fb.bytes);
    if (bfd >= 0) close(bfd);
    if (blen <= 0) {
        fprintf(stderr, "bench_capi: cannot read %s\n", beat_path);
        return 1;
    }
    fb.len = (size_t)blen;
    /* Three times as many repetitions as a check: a beat's deferred frees
     * (RCU) land on either side, and its ratios spread wider. */
    paired("c.beat.tmpfs", do_floor_beat, &fb, do_beat, e, reps * 3, 1.1);
    lifesign_free(e);
    unlink(fb.path);
    unlink(beat_path);
    unlink(check_path);
    return 0;
}
