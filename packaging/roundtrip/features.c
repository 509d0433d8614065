/* Which of the kernel features lifesign uses by choice, with a fallback
 * each (docs/INSTALL.md), this system (or emulator) provides: `features DIR`
 * prints one line per feature, "NAME: yes" or "NAME: no (ERROR)".
 *   pidfd      pidfd_open + poll: a waiter wakes when the emitter exits
 *              (else it reads /proc at each re-check);
 *   ofd-lock   F_OFD_SETLK / F_OFD_GETLK: the lifetime lock (else records
 *              carry no lock_ino and the check reads /proc);
 *   inotify    inotify on the heartbeat's folder: event-driven waits (else
 *              they poll). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434 /* the same number on every architecture */
#endif
#ifndef F_OFD_GETLK
#define F_OFD_GETLK 36
#define F_OFD_SETLK 37
#endif

static void say(const char *name, int ok, int err) {
    if (ok) printf("%s: yes\n", name);
    else printf("%s: no (%s)\n", name, strerror(err));
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    long fd = syscall(SYS_pidfd_open, (long)getpid(), 0L);
    int err = errno;
    if (fd >= 0) {
        /* A live process: the pidfd must not be readable yet. */
        struct pollfd p = {.fd = (int)fd, .events = POLLIN};
        if (poll(&p, 1, 0) != 0) fd = -1, err = EINVAL;
    }
    say("pidfd", fd >= 0, err);

    char path[4096];
    snprintf(path, sizeof path, "%s/features.lock", argv[1]);
    int lf = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    int ok = lf >= 0 && fcntl(lf, F_OFD_SETLK, &fl) == 0;
    err = errno;
    if (ok) {
        /* A second open file description must see the lock as held. */
        int other = open(path, O_RDWR | O_CLOEXEC);
        memset(&fl, 0, sizeof fl);
        fl.l_type = F_WRLCK;
        fl.l_whence = SEEK_SET;
        ok = other >= 0 && fcntl(other, F_OFD_GETLK, &fl) == 0 && fl.l_type == F_WRLCK;
        err = ok ? 0 : (errno ? errno : EINVAL);
    }
    say("ofd-lock", ok, err);

    int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    err = errno;
    ok = in >= 0 && inotify_add_watch(in, argv[1], IN_CREATE | IN_MOVED_TO) >= 0;
    if (!ok && in >= 0) err = errno;
    if (ok) {
        /* A file created in the folder must be seen. */
        char made[4096];
        snprintf(made, sizeof made, "%s/features.new", argv[1]);
        unlink(made);
        close(open(made, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
        struct pollfd p = {.fd = in, .events = POLLIN};
        ok = poll(&p, 1, 10000) == 1; /* a hang guard, not a threshold */
        err = ok ? 0 : ETIMEDOUT;
    }
    say("inotify", ok, err);
    return 0;
}
