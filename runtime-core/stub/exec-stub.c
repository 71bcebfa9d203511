/*
 * runr's exec stub: the last image a container process passes through before its program
 * (runtime-core/src/exec_stub.rs says when and why). No libc: four system calls, so that it
 * costs the kernel's execve and nothing else (a glibc program's start-up is ~0.3 ms on a VM
 * that traps CPUID).
 *
 * argv: [comm, how, path, program's argv...]; the environment is passed on unchanged.
 *   comm  the name the process had (PR_SET_NAME), so that `start`'s "did the init get to
 *         its program" check sees the name change only at the program's execve;
 *   how   "-": nothing to keep; "f<fd>": fd is to close at the program's execve (the exec
 *         fifo) and a failure goes to stderr; "w<fd>": the same, after waiting for a byte on
 *         fd (the init's wait for `start`, done here so that a created container's init is
 *         this sealed copy, not the runtime's binary); "w<fd>h<chan>": the same, after first
 *         waiting for create's Handover, one message on chan, the init's SEQPACKET channel
 *         (none, the channel closed: the runtime died before it recorded the container, so
 *         exit; any other message: exit too), which is then to close at the program's execve too; "c<fd>": like "f", and a failure goes
 *         to fd, the runtime's SEQPACKET channel, as an 8-byte frame "rstb" + errno (little
 *         endian);
 *   path  what to execve, already resolved by the runtime.
 * First of all it makes itself non-dumpable again (execve made it dumpable): until the
 * program's execve it holds the runtime's fd, which no process of the container may take.
 * Exit status 127 on any failure, as the runtime's init uses for a failed exec.
 */

#if defined(__x86_64__)
#define NR_READ 0
#define NR_WRITE 1
#define NR_PPOLL 271
#define NR_NANOSLEEP 35
#define NR_EXIT 60
#define NR_FCNTL 72
#define NR_PRCTL 157
#define NR_EXECVE 59
#define NR_EXIT_GROUP 231
static long sys5(long n, long a, long b, long c, long d, long e)
{
	long r;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
			 : "rcx", "r11", "memory");
	return r;
}
__asm__(".text\n.global _start\n_start:\n\txor %rbp,%rbp\n\tmov %rsp,%rdi\n\tand $-16,%rsp\n\tcall stub_main\n\thlt\n");
#elif defined(__aarch64__)
#define NR_READ 63
#define NR_WRITE 64
#define NR_PPOLL 73
#define NR_NANOSLEEP 101
#define NR_EXIT 93
#define NR_FCNTL 25
#define NR_PRCTL 167
#define NR_EXECVE 221
#define NR_EXIT_GROUP 94
static long sys5(long n, long a, long b, long c, long d, long e)
{
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;
	register long x4 __asm__("x4") = e;
	__asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4) : "memory");
	return x0;
}
__asm__(".text\n.global _start\n_start:\n\tmov x0, sp\n\tbl stub_main\n\tbrk #0\n");
#else
#error "exec stub: unsupported architecture"
#endif

#define sys3(n, a, b, c) sys5(n, a, b, c, 0, 0)
#define F_SETFD 2
#define FD_CLOEXEC 1
#define PR_SET_DUMPABLE 4
#define PR_SET_NAME 15
#define POLLIN 1
#define EAGAIN 11
/* The first byte of create's Handover message (HANDOVER in runtime-core/src/process/sync.rs). */
#define HANDOVER 10

static void die(void) __attribute__((noreturn));
static void die(void)
{
	for (;;) {
		sys3(NR_EXIT_GROUP, 127, 0, 0);
		sys3(NR_EXIT, 127, 0, 0);
	}
}

/* The init's wait for `start`, as the runtime's own was: a byte on the exec fifo (opened
 * non-blocking; no data yet is EAGAIN, a writer gone without writing is 0: wait on). */
static void wait_for_byte(long fd)
{
	for (;;) {
		struct {
			int fd;
			short events, revents;
		} p = {(int)fd, POLLIN, 0};
		long r = sys5(NR_PPOLL, (long)&p, 1, 0, 0, 8);
		if (r < 0 && r != -4 /* EINTR */)
			die();
		char b;
		r = sys3(NR_READ, fd, (long)&b, 1);
		if (r == 1)
			return;
		if (r == 0) {
			long ts[2] = {0, 1000000};
			sys3(NR_NANOSLEEP, (long)ts, 0, 0);
		} else if (r != -EAGAIN && r != -4) {
			die();
		}
	}
}

/* The decimal fd at s (at least one digit); returns where it ends. */
static const char *number(const char *s, long *out)
{
	long n = 0;
	if (*s < '0' || *s > '9')
		die();
	for (; *s >= '0' && *s <= '9'; s++) {
		if (n > 100000)
			die();
		n = n * 10 + (*s - '0');
	}
	*out = n;
	return s;
}

static long length(const char *s)
{
	long n = 0;
	while (s[n])
		n++;
	return n;
}

/* strerror's text for what execve can fail with; any other errno as its number. */
static const char *describe(long e, char *buf)
{
	switch (e) {
	case 1: return "Operation not permitted";
	case 2: return "No such file or directory";
	case 5: return "Input/output error";
	case 7: return "Argument list too long";
	case 8: return "Exec format error";
	case 12: return "Cannot allocate memory";
	case 13: return "Permission denied";
	case 14: return "Bad address";
	case 20: return "Not a directory";
	case 21: return "Is a directory";
	case 22: return "Invalid argument";
	case 23: return "Too many open files in system";
	case 24: return "Too many open files";
	case 26: return "Text file busy";
	case 36: return "File name too long";
	case 40: return "Too many levels of symbolic links";
	case 80: return "Accessing a corrupted shared library";
	}
	char *p = buf + 23;
	*p = 0;
	do {
		*--p = (char)('0' + e % 10);
		e /= 10;
	} while (e);
	const char *pre = "errno ";
	for (int i = 5; i >= 0; i--)
		*--p = pre[i];
	return p;
}

static void put(const char *s)
{
	sys3(NR_WRITE, 2, (long)s, length(s));
}

__attribute__((used, noreturn)) void stub_main(long *sp)
{
	long argc = sp[0];
	char **argv = (char **)(sp + 1);
	char **envp = argv + argc + 1;
	if (argc < 4)
		die();
	if (sys3(NR_PRCTL, PR_SET_DUMPABLE, 0, 0) < 0)
		die();
	const char *how = argv[1];
	long fd = -1, chan = -1;
	if ((how[0] == 'f' || how[0] == 'c' || how[0] == 'w') && how[1]) {
		const char *d = number(how + 1, &fd);
		if (how[0] == 'w' && *d == 'h')
			d = number(d + 1, &chan);
		if (*d)
			die();
	} else if (how[0] != '-' || how[1]) {
		die();
	}
	if (sys3(NR_PRCTL, PR_SET_NAME, (long)argv[0], 0) < 0)
		die();
	/* Never hand the runtime's fds to the program: no close-on-exec, no exec. */
	if (chan >= 0) {
		char b;
		long r;
		while ((r = sys3(NR_READ, chan, (long)&b, 1)) == -4 /* EINTR */)
			;
		if (r != 1 || b != HANDOVER)
			die();
		if (sys3(NR_FCNTL, chan, F_SETFD, FD_CLOEXEC) < 0)
			die();
	}
	if (how[0] == 'w')
		wait_for_byte(fd);
	if (fd >= 0 && sys3(NR_FCNTL, fd, F_SETFD, FD_CLOEXEC) < 0)
		die();
	long e = -sys3(NR_EXECVE, (long)argv[2], (long)(argv + 3), (long)envp);
	if (how[0] == 'c') {
		unsigned char frame[8] = {'r', 's', 't', 'b'};
		for (int i = 0; i < 4; i++)
			frame[4 + i] = (unsigned char)(e >> (8 * i));
		sys3(NR_WRITE, fd, (long)frame, 8);
	} else {
		char buf[24];
		put("runr: container init: exec: execve ");
		put(argv[2]);
		put(": ");
		put(describe(e, buf));
		put("\n");
	}
	die();
}
