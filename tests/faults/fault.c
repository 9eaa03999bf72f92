/* fault: a test-only LD_PRELOAD shim that makes writes and syncs of an LMDB
 * data file fail on command, as a failing or full disk would.
 *
 * RX_FAULT_FILE names a control file; while it holds "EIO" or "ENOSPC",
 * every write, pwrite, writev, pwritev, fsync and fdatasync on a file whose
 * name ends in "data.mdb" fails with that errno.  Remove or empty the file
 * and the disk is healthy again.  Nothing else is touched. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static int active_errno(int fd)
{
	const char *ctl = getenv("RX_FAULT_FILE");
	char link[64], path[512], mode[16] = "";
	if (ctl == NULL)
		return 0;
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof path - 1);
	if (n < 8)
		return 0;
	path[n] = '\0';
	if (strcmp(path + n - 8, "data.mdb") != 0)
		return 0;
	/* read the control file with the real read(2): it is not intercepted */
	int cfd = open(ctl, O_RDONLY | O_CLOEXEC);
	if (cfd < 0)
		return 0;
	ssize_t m = read(cfd, mode, sizeof mode - 1);
	close(cfd);
	if (m <= 0)
		return 0;
	mode[m] = '\0';
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
