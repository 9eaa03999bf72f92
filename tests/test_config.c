/* Unit: rxd's config file (broker/config.h). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "testutil.h"

static char path[64];

static void write_conf(const char *text, size_t len)
{
	strcpy(path, "/tmp/rx-config-test.XXXXXX");
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
}

static rx_err_t load(const char *text, rxd_config_t *cfg, char *err, size_t errlen)
{
	write_conf(text, strlen(text));
	config_defaults(cfg);
	rx_err_t e = config_load(path, cfg, err, errlen);
	unlink(path);
	return e;
}

START_TEST(defaults_and_file)
{
	rxd_config_t cfg;
	char err[256];
	config_defaults(&cfg);
	ck_assert_str_eq(cfg.data, "./var/rx");
	ck_assert_str_eq(cfg.listen, "tcp://127.0.0.1:5570");
	ck_assert_uint_eq(cfg.map_size_mib, 1024);
	ck_assert_str_eq(cfg.metrics, "");
	ck_assert_int_eq(cfg.verify_threads, -1); /* one per core */
	ck_assert_str_eq(cfg.pseudonym_key, ""); /* rxd puts it beside the data dir */
	ck_assert_int_eq(load("pseudonym_key = /srv/rx-keys/p.key\n", &cfg, err, sizeof err), RX_OK);
	ck_assert_str_eq(cfg.pseudonym_key, "/srv/rx-keys/p.key");
	ck_assert_int_eq(load("pseudonym_key =\n", &cfg, err, sizeof err), RX_INVALID);
	ck_assert_int_eq(config_set(&cfg, "pseudonym_key", "/k/p.key", err, sizeof err), RX_OK);
	ck_assert_str_eq(cfg.pseudonym_key, "/k/p.key");

	ck_assert_int_eq(load("verify_threads = 0\n", &cfg, err, sizeof err), RX_OK);
	ck_assert_int_eq(cfg.verify_threads, 0);
	ck_assert_int_eq(config_set(&cfg, "verify_threads", "64", err, sizeof err), RX_OK);
	ck_assert_int_eq(cfg.verify_threads, 64);
	ck_assert_uint_eq(cfg.amend_days, 1); /* the end of the next day */
	ck_assert_int_eq(config_set(&cfg, "amend_days", "7", err, sizeof err), RX_OK);
	ck_assert_uint_eq(cfg.amend_days, 7);

	ck_assert_int_eq(load("# rxd\n\n  data = /srv/rx  \nlisten\t=\ttcp://127.0.0.1:*\r\n"
			      "metrics = tcp://127.0.0.1:9570\nmap_size_mib = 64",
			      &cfg, err, sizeof err),
			 RX_OK);
	ck_assert_str_eq(cfg.metrics, "tcp://127.0.0.1:9570");
	ck_assert_str_eq(cfg.data, "/srv/rx");
	ck_assert_str_eq(cfg.listen, "tcp://127.0.0.1:*");
	ck_assert_uint_eq(cfg.map_size_mib, 64);

	/* A key the file does not set keeps its default; a flag applied after
	 * the file wins. */
	ck_assert_int_eq(load("map_size_mib = 8\n", &cfg, err, sizeof err), RX_OK);
	ck_assert_str_eq(cfg.data, "./var/rx");
	ck_assert_int_eq(config_set(&cfg, "map_size_mib", "16", err, sizeof err), RX_OK);
	ck_assert_uint_eq(cfg.map_size_mib, 16);
}
END_TEST

START_TEST(bad_files_name_the_line)
{
	static const struct {
		const char *text, *where;
	} bad[] = {
		{"data = /x\nlisten_port = 5\n", ":2:"},
		{"data /x\n", ":1:"},
		{"data =\n", ":1:"},
		{"listen = a\nlisten = b\n", ":2:"},
		{"data = /x # comment\n", ":1:"},
		{"map_size_mib = 0\n", ":1:"},
		{"map_size_mib = -1\n", ":1:"},
		{"map_size_mib = 0x10\n", ":1:"},
		{"map_size_mib = 16777217\n", ":1:"},
		{"map_size_mib = 99999999999999999999999\n", ":1:"},
		{"\n\ndata = a\x01b\n", ":3:"},
		{"verify_threads = 65\n", ":1:"},
		{"verify_threads = -1\n", ":1:"},
		{"verify_threads = 2x\n", ":1:"},
		{"verify_threads = 007\n", ":1:"},
		{"amend_days = 0\n", ":1:"},
		{"amend_days = 8\n", ":1:"},
		{"amend_days = 12\n", ":1:"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		rxd_config_t cfg;
		char err[256] = "";
		ck_assert_msg(load(bad[i].text, &cfg, err, sizeof err) == RX_INVALID, "bad[%zu] accepted", i);
		ck_assert_msg(strstr(err, bad[i].where) != NULL, "bad[%zu]: '%s' lacks %s", i, err,
			      bad[i].where);
		/* All or nothing: a refused file changes nothing. */
		ck_assert_str_eq(cfg.data, "./var/rx");
		ck_assert_uint_eq(cfg.map_size_mib, 1024);
	}
}
END_TEST

START_TEST(embedded_nul_and_missing_file)
{
	rxd_config_t cfg;
	char err[256];
	write_conf("data = /a\0b\n", 12);
	config_defaults(&cfg);
	ck_assert_int_eq(config_load(path, &cfg, err, sizeof err), RX_INVALID);
	unlink(path);
	ck_assert_int_eq(config_load("/nonexistent/rxd.conf", &cfg, err, sizeof err), RX_SYSTEM);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/rxd.conf"));
}
END_TEST

/* The metrics endpoint has no authentication: a port without a host means
 * loopback; another host is taken only when named. */
START_TEST(metrics_defaults_to_loopback)
{
	static const struct {
		const char *in, *out;
	} ok[] = {
		{"9570", "tcp://127.0.0.1:9570"},
		{":9570", "tcp://127.0.0.1:9570"},
		{"tcp://:9570", "tcp://127.0.0.1:9570"},
		{"127.0.0.1:9570", "tcp://127.0.0.1:9570"},
		{"tcp://127.0.0.1:9570", "tcp://127.0.0.1:9570"},
		{"tcp://10.1.2.3:9570", "tcp://10.1.2.3:9570"},
		{"0.0.0.0:9570", "tcp://0.0.0.0:9570"},
		{"tcp://[::1]:9570", "tcp://[::1]:9570"},
	};
	static const char *const bad[] = {"", "tcp://", "tcp://127.0.0.1", "abc", "0", "65536", ":",
					  "ipc:///tmp/m", "tcp://127.0.0.1:95x0", "tcp://127.0.0.1:*"};
	rxd_config_t cfg;
	char err[256];
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		config_defaults(&cfg);
		ck_assert_msg(config_set(&cfg, "metrics", ok[i].in, err, sizeof err) == RX_OK, "%s: %s",
			      ok[i].in, err);
		ck_assert_str_eq(cfg.metrics, ok[i].out);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		config_defaults(&cfg);
		ck_assert_msg(config_set(&cfg, "metrics", bad[i], err, sizeof err) == RX_INVALID,
			      "\"%s\" accepted", bad[i]);
		ck_assert_str_eq(cfg.metrics, "");
	}
	ck_assert_int_eq(load("metrics = 9570\n", &cfg, err, sizeof err), RX_OK);
	ck_assert_str_eq(cfg.metrics, "tcp://127.0.0.1:9570");
}
END_TEST

START_TEST(shipped_example_parses)
{
	rxd_config_t cfg;
	char err[256];
	const char *example = getenv("RXD_CONF_EXAMPLE");
	ck_assert_ptr_nonnull(example);
	config_defaults(&cfg);
	ck_assert_msg(config_load(example, &cfg, err, sizeof err) == RX_OK, "%s", err);
	ck_assert_str_eq(cfg.data, "/var/lib/rx-exchange");
	/* outside the data dir, where deploy/rxd.service lets rxd write */
	ck_assert_str_eq(cfg.pseudonym_key, "/var/lib/rx-exchange-keys/pseudonym.key");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");
	tcase_add_test(tc, defaults_and_file);
	tcase_add_test(tc, bad_files_name_the_line);
	tcase_add_test(tc, embedded_nul_and_missing_file);
	tcase_add_test(tc, shipped_example_parses);
	tcase_add_test(tc, metrics_defaults_to_loopback);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
