/* fault: a test-only LD_PRELOAD shim that makes writes and syncs of an LMDB
 * data file fail on command, as a failing or full disk would.
 *
 * RX_FAULT_FILE names a control file; while it holds "EIO" or "ENOSPC",
 * every write, pwrite, writev, pwritev, fsync and fdatasync on a file whose
 * name ends in "data.mdb" fails with that errno.  Remove or empty the file
 * and the disk is healthy again.  While it holds "HOLD DIR", writes to a
 * data.mdb under DIR (a backup's copy) wait (see hold).  Nothing else is
 * touched. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* The control file's text into mode (cap bytes, NUL-ended); "" if none. */
static void read_control(char *mode, size_t cap)
{
	const char *ctl = getenv("RX_FAULT_FILE");
	mode[0] = '\0';
	if (ctl == NULL)
		return;
	/* read the control file with the real read(2): it is not intercepted */
	int cfd = open(ctl, O_RDONLY | O_CLOEXEC);
	if (cfd < 0)
		return;
	ssize_t m = read(cfd, mode, cap - 1);
	close(cfd);
	mode[m > 0 ? m : 0] = '\0';
}

/* "HOLD DIR": a write to a data.mdb under DIR (a backup's copy) waits until
 * the control file says otherwise, so that a test holds a backup in
 * progress for as long as it likes; the first write held creates
 * RX_FAULT_FILE.held to tell the test it has begun. */
static void hold(const char *path)
{
	char mode[600], mark[600];
	int told = 0;
	for (;;) {
		read_control(mode, sizeof mode);
		size_t n = strlen(mode);
		if (strncmp(mode, "HOLD ", 5) != 0 || n <= 5 || strncmp(path, mode + 5, n - 5) != 0)
			return;
		if (!told) {
			snprintf(mark, sizeof mark, "%s.held", getenv("RX_FAULT_FILE"));
			int fd = open(mark, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
			if (fd >= 0)
				close(fd);
			told = 1;
		}
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

static int active_errno(int fd)
{
	char link[64], path[512], mode[600];
	if (getenv("RX_FAULT_FILE") == NULL)
		return 0;
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof path - 1);
	if (n < 8)
		return 0;
	path[n] = '\0';
	if (strcmp(path + n - 8, "data.mdb") != 0)
		return 0;
	hold(path);
	read_control(mode, sizeof mode);
	if (strncmp(mode, "EIO", 3) == 0)
		return EIO;
	if (strncmp(mode, "ENOSPC", 6) == 0)
		return ENOSPC;
	return 0;
}

#define REAL(ret, name, ...) \
	static ret (*real_##name)(__VA_ARGS__); \
	if (!real_##name) \
		real_##name = (ret(*)(__VA_ARGS__))dlsym(RTLD_NEXT, #name)

#define FAIL_IF_ACTIVE(fd)                \
	do {                              \
		int e_ = active_errno(fd); \
		if (e_) {                 \
			errno = e_;       \
			return -1;        \
		}                         \
	} while (0)

ssize_t write(int fd, const void *buf, size_t n)
{
	REAL(ssize_t, write, int, const void *, size_t);
	FAIL_IF_ACTIVE(fd);
	return real_write(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	REAL(ssize_t, pwrite, int, const void *, size_t, off_t);
	FAIL_IF_ACTIVE(fd);
	return real_pwrite(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	REAL(ssize_t, pwrite64, int, const void *, size_t, off_t);
	FAIL_IF_ACTIVE(fd);
	return real_pwrite64(fd, buf, n, off);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	REAL(ssize_t, writev, int, const struct iovec *, int);
	FAIL_IF_ACTIVE(fd);
	return real_writev(fd, iov, cnt);
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	REAL(ssize_t, pwritev, int, const struct iovec *, int, off_t);
	FAIL_IF_ACTIVE(fd);
	return real_pwritev(fd, iov, cnt, off);
}

ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off_t off)
{
	REAL(ssize_t, pwritev64, int, const struct iovec *, int, off_t);
	FAIL_IF_ACTIVE(fd);
	return real_pwritev64(fd, iov, cnt, off);
}

int fsync(int fd)
{
	REAL(int, fsync, int);
	FAIL_IF_ACTIVE(fd);
	return real_fsync(fd);
}

int fdatasync(int fd)
{
	REAL(int, fdatasync, int);
	FAIL_IF_ACTIVE(fd);
	return real_fdatasync(fd);
}
