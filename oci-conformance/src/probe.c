/* probe: the static checker the conformance suite runs inside containers.
 * Built at suite start with `gcc -static -O2` (no libc needed in the rootfs).
 *
 *   probe                 key=value dump of what the process sees (ids, caps, limits, ...)
 *   probe sys NR [ARG..]  raw syscall NR with integer args; prints ret=.. errno=..
 *   probe open PATH MODE  open(2) with MODE r|w|rw|c (c = create); prints errno=.. (0 = success)
 *   probe stat PATH       lstat: type, mode, uid, gid, major, minor
 *   probe mknod PATH      mknod of a char device 1:3; prints errno
 *   probe sleep SECS      sleeps (a long-running container process)
 *   probe exit CODE       exits with CODE
 *   probe cat PATH        the file's content
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <termios.h>
#include <unistd.h>

extern char **environ;

static void status_lines(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[512];
  if (!f) { printf("status_error=%d\n", errno); return; }
  while (fgets(line, sizeof line, f)) {
    const char *keys[] = {"Cap", "NoNewPrivs", "Seccomp", "Cpus_allowed_list", "Mems_allowed_list", NULL};
    for (int i = 0; keys[i]; i++) {
      if (strncmp(line, keys[i], strlen(keys[i])) == 0) {
        char *colon = strchr(line, ':');
        if (!colon) break;
        *colon = 0;
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t') v++;
        printf("%s=%s", line, v);
        break;
      }
    }
  }
  fclose(f);
}

static void file_line(const char *key, const char *path) {
  char buf[4096];
  int fd = open(path, O_RDONLY);
  if (fd < 0) { printf("%s=<errno %d>\n", key, errno); return; }
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n < 0) n = 0;
  buf[n] = 0;
  for (ssize_t i = 0; i < n; i++) if (buf[i] == '\n') buf[i] = (i == n - 1) ? 0 : '|';
  printf("%s=%s\n", key, buf);
}

static void dump(void) {
  printf("pid=%d\nppid=%d\nuid=%d\neuid=%d\ngid=%d\negid=%d\n", getpid(), getppid(), getuid(), geteuid(), getgid(), getegid());
  gid_t groups[256];
  int n = getgroups(256, groups);
  printf("groups=");
  for (int i = 0; i < n; i++) printf("%s%d", i ? "," : "", groups[i]);
  printf("\n");
  mode_t m = umask(0);
  umask(m);
  printf("umask=%04o\n", m);
  char cwd[4096];
  printf("cwd=%s\n", getcwd(cwd, sizeof cwd) ? cwd : "<error>");
  struct utsname u;
  uname(&u);
  printf("hostname=%s\ndomainname=%s\n", u.nodename, u.domainname);
  printf("nnp=%d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
  printf("dumpable=%d\n", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
  printf("personality=%d\n", personality(0xffffffff));
  status_lines();
  static const struct { const char *name; int res; } lim[] = {
      {"RLIMIT_CPU", RLIMIT_CPU}, {"RLIMIT_FSIZE", RLIMIT_FSIZE}, {"RLIMIT_DATA", RLIMIT_DATA},
      {"RLIMIT_STACK", RLIMIT_STACK}, {"RLIMIT_CORE", RLIMIT_CORE}, {"RLIMIT_RSS", RLIMIT_RSS},
      {"RLIMIT_NPROC", RLIMIT_NPROC}, {"RLIMIT_NOFILE", RLIMIT_NOFILE}, {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
      {"RLIMIT_AS", RLIMIT_AS}, {"RLIMIT_LOCKS", RLIMIT_LOCKS}, {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
      {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE}, {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
      {"RLIMIT_RTTIME", RLIMIT_RTTIME}};
  for (unsigned i = 0; i < sizeof lim / sizeof lim[0]; i++) {
    struct rlimit r;
    getrlimit(lim[i].res, &r);
    printf("%s=%llu:%llu\n", lim[i].name, (unsigned long long)r.rlim_cur, (unsigned long long)r.rlim_max);
  }
  const char *ns[] = {"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts", NULL};
  for (int i = 0; ns[i]; i++) {
    char p[64], t[128];
    snprintf(p, sizeof p, "/proc/self/ns/%s", ns[i]);
    ssize_t l = readlink(p, t, sizeof t - 1);
    t[l < 0 ? 0 : l] = 0;
    printf("ns.%s=%s\n", ns[i], t);
  }
  file_line("oom_score_adj", "/proc/self/oom_score_adj");
  file_line("uid_map", "/proc/self/uid_map");
  file_line("gid_map", "/proc/self/gid_map");
  file_line("setgroups", "/proc/self/setgroups");
  file_line("cgroup", "/proc/self/cgroup");
  file_line("attr_current", "/proc/self/attr/current");
  file_line("timens_offsets", "/proc/self/timens_offsets");
  printf("ioprio=%ld\n", syscall(SYS_ioprio_get, 1, 0));
  printf("sched_policy=%d\n", sched_getscheduler(0));
  printf("nice=%d\n", getpriority(PRIO_PROCESS, 0));
  printf("sid_is_self=%d\n", getsid(0) == getpid());
  printf("pgid_is_self=%d\n", getpgid(0) == getpid());
  for (int fd = 0; fd < 3; fd++) {
    struct winsize ws;
    printf("isatty%d=%d\n", fd, isatty(fd));
    if (fd == 0 && ioctl(0, TIOCGWINSZ, &ws) == 0) printf("winsize=%dx%d\n", ws.ws_row, ws.ws_col);
  }
  DIR *d = opendir("/proc/self/fd");
  printf("fds=");
  if (d) {
    int dfd = dirfd(d), first = 1;
    struct dirent *e;
    while ((e = readdir(d))) {
      if (e->d_name[0] == '.' || atoi(e->d_name) == dfd) continue;
      printf("%s%s", first ? "" : ",", e->d_name);
      first = 0;
    }
    closedir(d);
  }
  printf("\n");
  for (char **e = environ; *e; e++) printf("env.%s\n", *e);
  for (char **e = environ; *e; e++) printf("envorder=%s\n", *e);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 2) { dump(); return 0; }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "sys") && argc >= 3) {
    long a[6] = {0};
    for (int i = 3; i < argc && i < 9; i++) a[i - 3] = strtol(argv[i], NULL, 0);
    errno = 0;
    long r = syscall(strtol(argv[2], NULL, 0), a[0], a[1], a[2], a[3], a[4], a[5]);
    printf("ret=%ld\nerrno=%d\n", r, r < 0 ? errno : 0);
    return 0;
  }
  if (!strcmp(cmd, "open") && argc >= 4) {
    int flags = !strcmp(argv[3], "w") ? O_WRONLY : !strcmp(argv[3], "rw") ? O_RDWR
              : !strcmp(argv[3], "c") ? O_WRONLY | O_CREAT : O_RDONLY;
    int fd = open(argv[2], flags | O_CLOEXEC, 0644);
    printf("errno=%d\n", fd < 0 ? errno : 0);
    return 0;
  }
  if (!strcmp(cmd, "stat") && argc >= 3) {
    struct stat st;
    if (lstat(argv[2], &st) < 0) { printf("errno=%d\n", errno); return 0; }
    const char *t = S_ISCHR(st.st_mode) ? "c" : S_ISBLK(st.st_mode) ? "b" : S_ISFIFO(st.st_mode) ? "p"
                  : S_ISDIR(st.st_mode) ? "d" : S_ISLNK(st.st_mode) ? "l" : S_ISREG(st.st_mode) ? "f" : "?";
    printf("errno=0\ntype=%s\nmode=%04o\nuid=%d\ngid=%d\nmajor=%u\nminor=%u\nsize=%lld\n", t, st.st_mode & 07777,
           st.st_uid, st.st_gid, major(st.st_rdev), minor(st.st_rdev), (long long)st.st_size);
    if (S_ISLNK(st.st_mode)) {
      char t2[4096];
      ssize_t l = readlink(argv[2], t2, sizeof t2 - 1);
      t2[l < 0 ? 0 : l] = 0;
      printf("target=%s\n", t2);
    }
    return 0;
  }
  if (!strcmp(cmd, "mknod") && argc >= 3) {
    int r = mknod(argv[2], S_IFCHR | 0666, makedev(1, 3));
    printf("errno=%d\n", r < 0 ? errno : 0);
    return 0;
  }
  if (!strcmp(cmd, "sleep") && argc >= 3) { sleep(atoi(argv[2])); return 0; }
  if (!strcmp(cmd, "exit") && argc >= 3) return atoi(argv[2]);
  if (!strcmp(cmd, "cat") && argc >= 3) {
    char buf[4096];
    int fd = open(argv[2], O_RDONLY);
    if (fd < 0) { printf("<errno %d>\n", errno); return 1; }
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) fwrite(buf, 1, n, stdout);
    return 0;
  }
  fprintf(stderr, "probe: unknown command %s\n", cmd);
  return 2;
}
