/*
 * rss-spawn OUT PROG [ARGS...]: runs PROG, writes its peak RSS in KiB (wait4's ru_maxrss) to the
 * file OUT, exits with PROG's status.
 *
 * Why a separate static program: ru_maxrss of a child counts the memory image it had before its
 * exec. A child spawned by the benchmark itself (posix_spawn shares the parent's memory until the
 * exec, fork copies it) would report the benchmark's own RSS whenever that is larger than the
 * runtime's. Forked from this ~0.2 MiB static process, the number is the runtime's (and what it
 * reaped: its container init), floored at this process's size.
 */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: rss-spawn OUT PROG [ARGS...]\n");
        return 127;
    }
    pid_t pid = fork();
    if (pid < 0)
        return 127;
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        perror(argv[2]);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0)
        return 127;
    FILE *out = fopen(argv[1], "w");
    if (!out || fprintf(out, "%ld\n", ru.ru_maxrss) < 0 || fclose(out) != 0)
        return 127;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
