/* Integration: rxd on its host: nothing sensitive on disk in clear, the
 * admin socket private to the broker's user, the data dir private and
 * served by one rxd at a time. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker_world.h"

/* Nothing sensitive is on disk in clear: a distinctive drug name, the notes,
 * the My Number, the access code, the patient id. */
static int file_contains(const char *path, const void *needle, size_t n)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return 0;
	static uint8_t buf[8 << 20];
	size_t len = fread(buf, 1, sizeof buf, f);
	fclose(f);
	return memmem(buf, len, needle, n) != NULL;
}

START_TEST(no_clear_text_at_rest)
{
	world_t w;
	harness_rx_t sp;
	rxc_result_t r;
	char code[RX_ACCESS_CODE_LEN + 1], id[RX_ID_LEN + 1];
	world_up(&w, 0);
	harness_prescription(&w.doc, "", 1, 0, 0, "ZZ-DISTINCTIVE-NOTE-42", &sp);
	ck_assert_int_eq(SUBMIT(w.cdoc, NULL, &sp.p, &r), RX_OK);
	strcpy(code, r.receipt->access_code);
	strcpy(id, r.receipt->prescription_id);
	rxc_result_free(&r);
	ck_assert_int_eq(harness_stop(&w.h, SIGTERM), 0);

	char path[512];
	const char *needles[] = {"ZZ-DISTINCTIVE-NOTE-42", "ノルバスク", "123456789018", code,
				 w.patient};
	DIR *d = opendir(w.h.dir);
	ck_assert_ptr_nonnull(d);
	struct dirent *e;
	int files = 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", w.h.dir, e->d_name);
		files++;
		for (size_t i = 0; i < sizeof needles / sizeof needles[0]; i++) {
			/* The patient id is the index key of their prescriptions: a
			 * pseudonym, allowed in the LMDB file only. */
			if (i == 4 && strcmp(e->d_name, "data.mdb") == 0)
				continue;
			ck_assert_msg(!file_contains(path, needles[i], strlen(needles[i])),
				      "%s holds needle %zu in clear text", e->d_name, i);
		}
	}
	closedir(d);
	ck_assert_int_ge(files, 5);
	/* The scan can see: the log does name the prescription id. */
	snprintf(path, sizeof path, "%s/rxd.log", w.h.dir);
	ck_assert(file_contains(path, id, strlen(id)));
	world_down(&w);
}
END_TEST

/* The admin socket is for the broker's own user: another user cannot reach
 * it (the socket is mode 0600 in a mode-0700 dir).  Needs root to become
 * another user; as any other user the test only checks the modes. */
START_TEST(admin_socket_is_private)
{
	harness_t h;
	char path[300];
	struct stat st;
	ck_assert_int_eq(harness_start(&h, 0), 0);
	snprintf(path, sizeof path, "%s/admin.sock", h.dir);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(stat(h.dir, &st), 0);
	ck_assert_int_eq(st.st_mode & 0077, 0);
	if (geteuid() == 0) {
		pid_t pid = fork();
		if (pid == 0) {
			Rx__AdminRequest q = RX__ADMIN_REQUEST__INIT;
			Rx__AdminReply *rep = NULL;
			char msg[256];
			q.op = RX__ADMIN_OP__STATS;
			if (setgid(65534) != 0 || setuid(65534) != 0)
				_exit(3);
			rx_err_t err = rxc_admin(h.dir, 1000, &q, &rep, msg, sizeof msg);
			_exit(err == RX_UNREACHABLE && rep == NULL ? 0 : 1);
		}
		int status;
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			      "another user reached the admin socket (exit %d)", WEXITSTATUS(status));
	}
	harness_cleanup(&h);
}
END_TEST

/* rxd refuses a data dir that others can read, and a second rxd on a dir
 * already served. */
static int run_rxd(const char *dir)
{
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		dup2(fd, 2);
		execl(getenv("RXD"), "rxd", "--data", dir, "--listen", "tcp://127.0.0.1:*", (char *)NULL);
		_exit(127);
	}
	int status = 0;
	int64_t deadline = harness_ms() + 10000;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (harness_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(refuses_open_dir_and_second_broker)
{
	harness_t h;
	char dir[] = "/tmp/rx-open.XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chmod(dir, 0755), 0);
	ck_assert_int_eq(run_rxd(dir), 1);
	ck_assert_int_eq(rmdir(dir), 0); /* and it wrote nothing there */

	ck_assert_int_eq(harness_start(&h, 0), 0);
	ck_assert_int_eq(run_rxd(h.dir), 1);
	Rx__Stats s;
	ck_assert_int_eq(harness_stats(&h, &s), 0); /* the first one still serves */
	harness_cleanup(&h);
}
END_TEST

TCase *broker_host_tcase(void)
{
	TCase *tc = world_tcase("host");
	tcase_add_test(tc, no_clear_text_at_rest);
	tcase_add_test(tc, admin_socket_is_private);
	tcase_add_test(tc, refuses_open_dir_and_second_broker);
	return tc;
}
