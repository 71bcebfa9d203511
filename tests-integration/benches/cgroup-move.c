/* What moving a process into a cgroup costs, the two ways a runtime can do it (issue #20, "where
 * the time goes"). Usage: cgroup-move <hierarchy dir> <runs> <self: 0|1>. For each run, after
 * 20 ms of idle: a fresh cgroup <dir>/runr-bench-move-<pid>-<i>; (1) the parent writes a child's
 * pid into its cgroup.procs, as crun's and runc's create do for the init; (2) with self=1 (a v1
 * hierarchy), another child writes "0" into the cgroup's tasks file, moving only its own thread,
 * as runr's init does. Prints the two medians in microseconds ("-1" when not measured).
 * Everything it makes is removed before it exits, on error too. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int write_file(const char *path, const char *s) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    int ok = write(fd, s, strlen(s)) == (ssize_t)strlen(s);
    close(fd);
    return ok ? 0 : -1;
}

/* The parent moves a sleeping child. Returns the write's duration, or -1. */
static double parent_moves(const char *dir) {
    pid_t c = fork();
    if (c == 0) {
        pause();
        _exit(0);
    }
    if (c < 0) return -1;
    char path[512], pid[32];
    snprintf(path, sizeof path, "%s/cgroup.procs", dir);
    snprintf(pid, sizeof pid, "%d", c);
    usleep(20000);
    double t = now_us();
    int rc = write_file(path, pid);
    double d = now_us() - t;
    kill(c, SIGKILL);
    waitpid(c, NULL, 0);
    return rc == 0 ? d : -1;
}

/* A child moves its own thread and reports the write's duration through a pipe. */
static double self_moves(const char *dir) {
    int p[2];
    if (pipe(p) < 0) return -1;
    pid_t c = fork();
    if (c == 0) {
        char path[512];
        snprintf(path, sizeof path, "%s/tasks", dir);
        usleep(20000);
        double t = now_us();
        double d = write_file(path, "0") == 0 ? now_us() - t : -1;
        (void)!write(p[1], &d, sizeof d);
        _exit(0);
    }
    close(p[1]);
    double d = -1;
    if (c < 0 || read(p[0], &d, sizeof d) != sizeof d) d = -1;
    close(p[0]);
    if (c > 0) waitpid(c, NULL, 0);
    return d;
}

static double median(double *v, int n) {
    qsort(v, n, sizeof *v, cmp);
    return v[n / 2];
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: cgroup-move <hierarchy dir> <runs> <self: 0|1>\n");
        return 2;
    }
    int runs = atoi(argv[2]), self = atoi(argv[3]);
    if (runs < 1 || runs > 1000) return 2;
    double *moved = calloc(runs, sizeof *moved), *own = calloc(runs, sizeof *own);
    if (!moved || !own) return 1;
    int failed = 0;
    for (int i = 0; i < runs && !failed; i++) {
        char dir[400];
        snprintf(dir, sizeof dir, "%s/runr-bench-move-%d-%d", argv[1], getpid(), i);
        if (mkdir(dir, 0755) < 0) {
            perror(dir);
            return 1;
        }
        moved[i] = parent_moves(dir);
        own[i] = self ? self_moves(dir) : 0;
        failed = moved[i] < 0 || own[i] < 0;
        /* Both children have exited: the cgroup is empty again. */
        if (rmdir(dir) < 0) {
            perror(dir);
            return 1;
        }
    }
    if (failed) {
        fprintf(stderr, "cgroup-move: a write into %s failed\n", argv[1]);
        return 1;
    }
    printf("%.1f %.1f\n", median(moved, runs), self ? median(own, runs) : -1.0);
    return 0;
}
