/* Integration: the two-node cluster configuration (deploy/ha, issue #16)
 * checked with the real Debian tools, and its OCF agent against a real rxd.
 *
 * - crm_verify accepts cib.xml (and refuses a broken copy); crmsh loads
 *   crm.txt into an empty CIB file (CIB_file=, no cluster) and the result is
 *   cib.xml's configuration, element for element; crmsh can read cib.xml.
 * - drbdadm parses rxd.res, and per node (__DRBD_NODE__) would set it up
 *   with protocol C, resource-and-stonith, our split-brain policies, the
 *   replication addresses (a broken copy is refused).
 * - crm_simulate, from the CIB with both nodes up and everything on rx-a:
 *   rx-a failing gives a transition that fences rx-a, then promotes DRBD,
 *   mounts, adds the IP and starts rxd on rx-b; rx-a in standby and a
 *   `crm resource move` each give the clean switch-over (stop rxd, IP,
 *   unmount, demote on rx-a, then promote, mount, IP, rxd on rx-b) with no
 *   fencing.  Order is read from the transition graph's dependencies
 *   (--save-graph), not from the order lines were printed in.
 * - The agent (deploy/ha/ocf/rxd) without a unit: meta-data valid,
 *   validate-all, monitor 7, no start on a data dir without a store, start
 *   waits for `rxctl health`, monitor 0, stop by PID, monitor 7; a frozen
 *   (SIGSTOPped) rxd fails monitor within its timeout and still stops.
 *
 * A tool that is missing fails the test with the package to install
 * (deploy/rx test installs them).  Every child is waited for with a
 * deadline; an rxd the agent started is killed by PID in the unchecked
 * teardown even when a test failed half-way. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/tree.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#define ARGV(...) ((const char *const[]){__VA_ARGS__, NULL})
#define ENV(...) ((const char *const[]){__VA_ARGS__, NULL})
#define TOOL_TIMEOUT_MS 120000
#define POLL_MS 20

static char out[1 << 20]; /* the last command's stdout and stderr */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap(void)
{
	nanosleep(&(struct timespec){0, POLL_MS * 1000000L}, NULL);
}

/* Run argv with env ("K=V", may be NULL) added, stdout and stderr into out,
 * for at most timeout_ms.  Returns the exit status, or -1 if it was killed
 * (by us at the deadline, or by a signal).  Reading stops when the child
 * has exited, so a daemon it left holding the pipe cannot hang us. */
static int runv(const char *const *env, int timeout_ms, const char *const *argv)
{
	int fds[2];
	ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		dup2(null, 0);
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		for (int i = 0; env && env[i]; i++)
			putenv((char *)env[i]);
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	size_t n = 0;
	int status = 0, done = 0;
	int64_t deadline = now_ms() + timeout_ms;
	for (;;) {
		ssize_t r;
		while (n < sizeof out - 1 && (r = read(fds[0], out + n, sizeof out - 1 - n)) > 0)
			n += (size_t)r;
		if (done)
			break;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			done = 1; /* one more read for what it wrote last */
			continue;
		}
		if (now_ms() >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		poll(&(struct pollfd){.fd = fds[0], .events = POLLIN}, 1, POLL_MS);
	}
	out[n] = '\0';
	close(fds[0]);
	return done && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#define RUN(env, ...) runv(env, TOOL_TIMEOUT_MS, ARGV(__VA_ARGS__))

/* The tool on PATH, or the test fails saying which package brings it. */
static void need(const char *tool, const char *package)
{
	char cmd[256];
	snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool);
	ck_assert_msg(system(cmd) == 0, "%s not found: install %s (deploy/rx test does)", tool, package);
}

static void need_cluster_tools(void)
{
	need("crm_verify", "pacemaker-cli-utils");
	need("crm_simulate", "pacemaker-cli-utils");
	need("crm_attribute", "pacemaker-cli-utils");
	need("crm_resource", "pacemaker-cli-utils");
	need("cibadmin", "pacemaker-cli-utils");
}

static const char *ha(const char *file, char *path, size_t cap)
{
	const char *dir = getenv("HA_DIR");
	ck_assert_msg(dir != NULL, "HA_DIR (deploy/ha) not set");
	snprintf(path, cap, "%s/%s", dir, file);
	return path;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	ck_assert_msg(f != NULL, "cannot write %s", path);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* path's whole text, heap (the caller frees). */
static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot read %s", path);
	char *s = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&s, &len);
	char buf[4096];
	size_t r;
	while ((r = fread(buf, 1, sizeof buf, f)) > 0)
		fwrite(buf, 1, r, m);
	fclose(f);
	fclose(m);
	return s;
}

static void copy_file(const char *from, const char *to)
{
	char *s = read_file(from);
	write_file(to, s);
	free(s);
}

/* A copy of from at to with the first `find` replaced by `repl`. */
static void copy_replacing(const char *from, const char *to, const char *find, const char *repl)
{
	char *s = read_file(from);
	char *at = strstr(s, find);
	ck_assert_msg(at != NULL, "%s has no '%s' to break", from, find);
	*at = '\0';
	FILE *f = fopen(to, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "%s%s%s", s, repl, at + strlen(find));
	ck_assert_int_eq(fclose(f), 0);
	free(s);
}

static void path_in(char *path, size_t cap, const char *name)
{
	snprintf(path, cap, "%s/%s", tu_scratch, name);
}

/* ---- the CIB ---- */

/* A "CIB_file=path" for env. */
static const char *cib_env(char *buf, size_t cap, const char *path)
{
	snprintf(buf, cap, "CIB_file=%s", path);
	return buf;
}

static void set_promotion_score(const char *cib, const char *node, const char *score)
{
	char e[512];
	/* What ocf:linbit:drbd sets on a node with UpToDate data (crm_master). */
	int rc = RUN(ENV(cib_env(e, sizeof e, cib)), "crm_attribute", "-N", node, "-n",
		     "master-drbd-rxd", "-v", score, "-l", "reboot");
	ck_assert_msg(rc == 0, "crm_attribute (promotion score) exited %d: %s", rc, out);
}

/* Into state: cib.xml on a cluster with both nodes up (corosync's two_node
 * keeps quorum), DRBD UpToDate on both, everything running on rx-a, and
 * nothing left to do. */
static void cluster_on_rx_a(char *state, size_t cap)
{
	char cib[300], s0[300], s1[300];
	need_cluster_tools();
	path_in(s0, sizeof s0, "s0.xml");
	path_in(s1, sizeof s1, "s1.xml");
	snprintf(state, cap, "%s/steady.xml", tu_scratch);
	copy_file(ha("cib.xml", cib, sizeof cib), s0);
	int rc = RUN(NULL, "crm_simulate", "-x", s0, "-S", "-q", "1", "-u", "rx-a", "-u", "rx-b", "-O",
		     s1);
	ck_assert_msg(rc == 0, "crm_simulate (nodes up) exited %d: %s", rc, out);
	/* rx-a first only to make the first placement certain. */
	set_promotion_score(s1, "rx-a", "10000");
	set_promotion_score(s1, "rx-b", "1000");
	rc = RUN(NULL, "crm_simulate", "-x", s1, "-S", "-O", state);
	ck_assert_msg(rc == 0, "crm_simulate (promote) exited %d: %s", rc, out);
	set_promotion_score(state, "rx-b", "10000");
}

/* "resource R is running on: ..." for rsc in the CIB file cib, into out. */
static void locate(const char *cib, const char *rsc)
{
	char e[512];
	int rc = RUN(ENV(cib_env(e, sizeof e, cib)), "crm_resource", "--locate", "-r", rsc);
	ck_assert_msg(rc == 0, "crm_resource --locate %s exited %d: %s", rsc, rc, out);
}

START_TEST(cib_verifies)
{
	char cib[300], state[300], bad[300];
	need_cluster_tools();
	ha("cib.xml", cib, sizeof cib);

	/* The file as shipped has no status: crm_verify can only warn that no
	 * node has been seen yet (no quorum, nodes unclean), never an error. */
	int rc = RUN(NULL, "crm_verify", "-x", cib);
	ck_assert_msg(strstr(out, "rror") == NULL, "crm_verify finds errors in cib.xml: %s", out);
	ck_assert_msg(rc == 0 || strstr(out, "Warnings found") != NULL, "crm_verify exited %d: %s",
		      rc, out);

	/* With both nodes up, as a running cluster sees it: no complaint. */
	cluster_on_rx_a(state, sizeof state);
	rc = RUN(NULL, "crm_verify", "-V", "-x", state);
	ck_assert_msg(rc == 0 && out[0] == '\0', "crm_verify on the running cluster exited %d: %s", rc,
		      out);

	/* A broken copy is refused: the test can fail. */
	path_in(bad, sizeof bad, "broken.xml");
	copy_replacing(state, bad, "with-rsc=\"drbd-rxd-clone\"", "with-rsc=\"drbd-rxd-clon\"");
	rc = RUN(NULL, "crm_verify", "-x", bad);
	ck_assert_msg(rc != 0 && strstr(out, "Errors found") != NULL,
		      "crm_verify accepted a colocation with no such resource (exit %d): %s", rc, out);
}
END_TEST

/* One element as text: name, attributes sorted by name, child elements in
 * order; comments and whitespace left out. */
static void canon(FILE *f, const xmlNode *n)
{
	const xmlAttr *attrs[64];
	int na = 0;
	fprintf(f, "<%s", (const char *)n->name);
	for (const xmlAttr *a = n->properties; a && na < 64; a = a->next)
		attrs[na++] = a;
	for (int i = 1; i < na; i++) /* insertion sort: a handful each */
		for (int j = i; j > 0 && strcmp((const char *)attrs[j - 1]->name,
						(const char *)attrs[j]->name) > 0; j--) {
			const xmlAttr *t = attrs[j];
			attrs[j] = attrs[j - 1];
			attrs[j - 1] = t;
		}
	for (int i = 0; i < na; i++) {
		xmlChar *v = xmlNodeGetContent((const xmlNode *)attrs[i]);
		fprintf(f, " %s=\"%s\"", (const char *)attrs[i]->name, (const char *)v);
		xmlFree(v);
	}
	fputs(">", f);
	for (const xmlNode *c = n->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			canon(f, c);
	fprintf(f, "</%s>\n", (const char *)n->name);
}

/* The <configuration> of a CIB file as canonical text (heap). */
static char *configuration_of(const char *path)
{
	xmlDoc *doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
	ck_assert_msg(doc != NULL, "%s is not XML", path);
	const xmlNode *c = xmlDocGetRootElement(doc)->children;
	while (c && !(c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, "configuration") == 0))
		c = c->next;
	ck_assert_msg(c != NULL, "%s has no configuration", path);
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);
	canon(f, c);
	fclose(f);
	xmlFreeDoc(doc);
	return s;
}

/* crm.txt (or a copy: crm) loaded by crmsh into a new empty CIB file at cib. */
static void crmsh_load(const char *crm, const char *cib)
{
	char script[300], e_cib[512], e_home[300], text[600];
	int rc = RUN(NULL, "cibadmin", "--empty");
	ck_assert_msg(rc == 0, "cibadmin --empty exited %d: %s", rc, out);
	write_file(cib, out);
	/* check-frequency never: crmsh would look up ocf:rx-exchange:rxd's
	 * meta-data, and the agent is not installed on a test machine. */
	path_in(script, sizeof script, "load.crm");
	snprintf(text, sizeof text, "options check-frequency never\nconfigure load update %s\n", crm);
	write_file(script, text);
	snprintf(e_home, sizeof e_home, "HOME=%s", tu_scratch); /* crmsh's history and cache */
	rc = RUN(ENV(cib_env(e_cib, sizeof e_cib, cib), e_home), "crm", "-D", "plain", "-f", script);
	ck_assert_msg(rc == 0, "crm could not load %s (exit %d): %s", crm, rc, out);
}

/* The first place two texts differ, for a message. */
static const char *diff_at(const char *a, const char *b)
{
	size_t i = 0;
	while (a[i] && a[i] == b[i])
		i++;
	while (i > 0 && a[i - 1] != '\n')
		i--;
	return a + i;
}

START_TEST(crm_txt_is_cib_xml)
{
	char cib[300], crm[300], loaded[300], other[300], e_cib[512], e_home[300], shown[300];
	need_cluster_tools();
	need("crm", "crmsh");
	ha("cib.xml", cib, sizeof cib);
	ha("crm.txt", crm, sizeof crm);
	path_in(loaded, sizeof loaded, "from-crm.xml");
	crmsh_load(crm, loaded);
	char *want = configuration_of(cib), *got = configuration_of(loaded);
	ck_assert_msg(strcmp(want, got) == 0, "crm.txt and cib.xml differ; cib.xml at:\n%.400s\ncrm.txt at:\n%.400s",
		      diff_at(want, got), diff_at(got, want));

	/* The comparison can fail: one value changed is seen. */
	path_in(other, sizeof other, "other.crm");
	copy_replacing(crm, other, "resource-stickiness=100", "resource-stickiness=200");
	crmsh_load(other, loaded);
	char *changed = configuration_of(loaded);
	ck_assert_msg(strcmp(want, changed) != 0, "a changed crm.txt still compares equal");

	/* crmsh reads cib.xml itself (comments where crmsh keeps them). */
	path_in(shown, sizeof shown, "shown.xml");
	copy_file(cib, shown);
	snprintf(e_home, sizeof e_home, "HOME=%s", tu_scratch);
	int rc = RUN(ENV(cib_env(e_cib, sizeof e_cib, shown), e_home), "crm", "-D", "plain", "configure",
		     "show");
	ck_assert_msg(rc == 0 && strstr(out, "Traceback") == NULL && strstr(out, "ERROR") == NULL &&
			      strstr(out, "primitive rxd ocf:rx-exchange:rxd") != NULL,
		      "crm configure show on cib.xml (exit %d): %s", rc, out);
	free(want);
	free(got);
	free(changed);
}
END_TEST

/* ---- DRBD ---- */

static void assert_has(const char *what, const char *needle)
{
	ck_assert_msg(strstr(out, needle) != NULL, "%s lacks '%s':\n%s", what, needle, out);
}

START_TEST(drbd_resource_parses)
{
	char res[300], bad[300];
	need("drbdadm", "drbd-utils");
	ha("rxd.res", res, sizeof res);
	/* No DRBD module here: tell drbdadm which version to write for. */
	const char *const *env = ENV("DRBD_DRIVER_VERSION_OVERRIDE=9.2.0");
	int rc = runv(env, TOOL_TIMEOUT_MS, ARGV("drbdadm", "-c", res, "dump", "all"));
	ck_assert_msg(rc == 0, "drbdadm dump exited %d: %s", rc, out);
	assert_has("drbdadm dump", "resource rxd {");
	assert_has("drbdadm dump", "meta-disk        internal;");
	assert_has("drbdadm dump", "fence-peer       /usr/lib/drbd/crm-fence-peer.9.sh;");
	assert_has("drbdadm dump", "unfence-peer     /usr/lib/drbd/crm-unfence-peer.9.sh;");
	assert_has("drbdadm dump", "split-brain      \"/usr/lib/drbd/notify-split-brain.sh root\";");
	/* The handlers it names are there (drbd-utils). */
	ck_assert_int_eq(access("/usr/lib/drbd/crm-fence-peer.9.sh", X_OK), 0);
	ck_assert_int_eq(access("/usr/lib/drbd/crm-unfence-peer.9.sh", X_OK), 0);
	ck_assert_int_eq(access("/usr/lib/drbd/notify-split-brain.sh", X_OK), 0);

	/* What each node would set up (dry run, as that node). */
	static const struct {
		const char *node, *peer_id, *path;
	} nodes[] = {
		{"rx-a", "new-peer rxd 1 --_name=rx-b", "new-path rxd 1 ipv4:10.0.2.1:7789 ipv4:10.0.2.2:7789"},
		{"rx-b", "new-peer rxd 0 --_name=rx-a", "new-path rxd 0 ipv4:10.0.2.2:7789 ipv4:10.0.2.1:7789"},
	};
	for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
		char e_node[64];
		snprintf(e_node, sizeof e_node, "__DRBD_NODE__=%s", nodes[i].node);
		rc = runv(ENV("DRBD_DRIVER_VERSION_OVERRIDE=9.2.0", e_node), TOOL_TIMEOUT_MS,
			  ARGV("drbdadm", "-c", res, "-d", "up", "rxd"));
		ck_assert_msg(rc == 0, "drbdadm -d up as %s exited %d: %s", nodes[i].node, rc, out);
		assert_has(nodes[i].node, nodes[i].peer_id);
		assert_has(nodes[i].node, "--protocol=C");
		assert_has(nodes[i].node, "--fencing=resource-and-stonith");
		assert_has(nodes[i].node, "--after-sb-0pri=discard-zero-changes");
		assert_has(nodes[i].node, "--after-sb-1pri=consensus");
		assert_has(nodes[i].node, "--after-sb-2pri=disconnect");
		assert_has(nodes[i].node, nodes[i].path);
		assert_has(nodes[i].node, "new-minor rxd 0 0"); /* /dev/drbd0, volume 0 */
		assert_has(nodes[i].node, "attach 0 /dev/vg0/rxd /dev/vg0/rxd internal");
	}

	/* A broken copy is refused. */
	path_in(bad, sizeof bad, "broken.res");
	copy_replacing(res, bad, "protocol C;", "protocol D;");
	rc = runv(env, TOOL_TIMEOUT_MS, ARGV("drbdadm", "-c", bad, "dump", "all"));
	ck_assert_msg(rc != 0, "drbdadm accepted protocol D: %s", out);
}
END_TEST

/* ---- crm_simulate's transitions ---- */

/* One action of a transition graph and the ids it waits for. */
typedef struct {
	int id;
	char kind[16]; /* rsc_op (runs on a node), pseudo_event, crm_event (fencing) */
	char op[32], key[96], node[32];
	int nin, in[64];
} action_t;

typedef struct {
	action_t a[1024];
	int n;
} graph_t;

static graph_t graph; /* large: not on the stack */

static void attr(const xmlNode *n, const char *name, char *buf, size_t cap)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
	snprintf(buf, cap, "%s", v ? (const char *)v : "");
	xmlFree(v);
}

static const xmlNode *first_element(const xmlNode *n)
{
	for (n = n ? n->children : NULL; n && n->type != XML_ELEMENT_NODE; n = n->next)
		;
	return n;
}

static int named(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

/* A transition graph file (crm_simulate --save-graph) into graph. */
static void graph_load(const char *path)
{
	xmlDoc *doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
	ck_assert_msg(doc != NULL, "%s is not XML", path);
	graph.n = 0;
	for (const xmlNode *s = xmlDocGetRootElement(doc)->children; s; s = s->next) {
		if (!named(s, "synapse"))
			continue;
		ck_assert_int_lt(graph.n, (int)(sizeof graph.a / sizeof graph.a[0]));
		action_t *a = &graph.a[graph.n++];
		memset(a, 0, sizeof *a);
		for (const xmlNode *part = s->children; part; part = part->next) {
			if (named(part, "action_set")) {
				const xmlNode *x = first_element(part);
				char id[16];
				ck_assert_ptr_nonnull(x);
				snprintf(a->kind, sizeof a->kind, "%s", (const char *)x->name);
				attr(x, "id", id, sizeof id);
				a->id = atoi(id);
				attr(x, "operation", a->op, sizeof a->op);
				attr(x, "operation_key", a->key, sizeof a->key);
				attr(x, "on_node", a->node, sizeof a->node);
			} else if (named(part, "inputs")) {
				for (const xmlNode *t = part->children; t; t = t->next) {
					const xmlNode *x = named(t, "trigger") ? first_element(t) : NULL;
					char id[16];
					if (x == NULL)
						continue;
					ck_assert_int_lt(a->nin, 64);
					attr(x, "id", id, sizeof id);
					a->in[a->nin++] = atoi(id);
				}
			}
		}
	}
	xmlFreeDoc(doc);
}

static int graph_index(int id)
{
	for (int i = 0; i < graph.n; i++)
		if (graph.a[i].id == id)
			return i;
	return -1;
}

/* The action kind/key on node: its index; the test fails if it is missing
 * or there twice. */
static int graph_find(const char *kind, const char *key, const char *node)
{
	int found = -1;
	for (int i = 0; i < graph.n; i++)
		if (strcmp(graph.a[i].kind, kind) == 0 && strcmp(graph.a[i].key, key) == 0 &&
		    strcmp(graph.a[i].node, node) == 0) {
			ck_assert_msg(found < 0, "%s on %s twice in the transition", key, node);
			found = i;
		}
	ck_assert_msg(found >= 0, "no %s %s on %s in the transition", kind, key, node);
	return found;
}

/* Does action b wait, directly or through others, for action a? */
static int graph_after(int b, int a)
{
	static char seen[sizeof graph.a / sizeof graph.a[0]];
	int stack[sizeof graph.a / sizeof graph.a[0]], top = 0;
	memset(seen, 0, sizeof seen);
	stack[top++] = b;
	while (top > 0) {
		const action_t *x = &graph.a[stack[--top]];
		for (int k = 0; k < x->nin; k++) {
			int i = graph_index(x->in[k]);
			ck_assert_msg(i >= 0, "input %d of %s is not in the graph", x->in[k], x->key);
			if (i == a)
				return 1;
			if (!seen[i]) {
				seen[i] = 1;
				stack[top++] = i;
			}
		}
	}
	return 0;
}

typedef struct {
	const char *kind, *key, *node;
} step_t;

/* Each step waits for the one before it, and the last does not come first. */
static void assert_order(const step_t *steps, int n)
{
	int idx[16];
	for (int i = 0; i < n; i++)
		idx[i] = graph_find(steps[i].kind, steps[i].key, steps[i].node);
	for (int i = 1; i < n; i++)
		ck_assert_msg(graph_after(idx[i], idx[i - 1]), "%s on %s does not wait for %s on %s",
			      steps[i].key, steps[i].node, steps[i - 1].key, steps[i - 1].node);
	ck_assert_msg(!graph_after(idx[0], idx[n - 1]), "%s waits for %s: a cycle", steps[0].key,
		      steps[n - 1].key);
}

static int count_fencing(const char *node)
{
	int n = 0;
	for (int i = 0; i < graph.n; i++)
		if (strcmp(graph.a[i].kind, "crm_event") == 0 && strcmp(graph.a[i].op, "stonith") == 0 &&
		    (node == NULL || strcmp(graph.a[i].node, node) == 0))
			n++;
	return n;
}

static void assert_runs_on(const char *cib, const char *node)
{
	char want[128];
	locate(cib, "rxd");
	snprintf(want, sizeof want, "resource rxd is running on: %s", node);
	assert_has("crm_resource --locate rxd", want);
	locate(cib, "drbd-rxd-clone");
	snprintf(want, sizeof want, "is running on: %s Promoted", node);
	assert_has("crm_resource --locate drbd-rxd-clone", want);
}

/* The clean switch-over, in the transition just loaded. */
static const step_t switch_over[] = {
	{"rsc_op", "rxd_stop_0", "rx-a"},         {"rsc_op", "ip-rxd_stop_0", "rx-a"},
	{"rsc_op", "fs-rxd_stop_0", "rx-a"},      {"rsc_op", "drbd-rxd_demote_0", "rx-a"},
	{"rsc_op", "drbd-rxd_promote_0", "rx-b"}, {"rsc_op", "fs-rxd_start_0", "rx-b"},
	{"rsc_op", "ip-rxd_start_0", "rx-b"},     {"rsc_op", "rxd_start_0", "rx-b"},
};

START_TEST(steady_on_rx_a)
{
	char state[300], g[300];
	cluster_on_rx_a(state, sizeof state);
	path_in(g, sizeof g, "steady-graph.xml");
	int rc = RUN(NULL, "crm_simulate", "-x", state, "-S", "-G", g);
	ck_assert_msg(rc == 0, "crm_simulate exited %d: %s", rc, out);
	graph_load(g);
	ck_assert_msg(graph.n == 0, "a running cluster still has %d actions to take", graph.n);
	assert_runs_on(state, "rx-a");
}
END_TEST

START_TEST(failover_fences_first)
{
	char state[300], g[300], after[300];
	cluster_on_rx_a(state, sizeof state);
	path_in(g, sizeof g, "fail-graph.xml");
	path_in(after, sizeof after, "failed-over.xml");
	int rc = RUN(NULL, "crm_simulate", "-x", state, "-S", "--node-fail", "rx-a", "-G", g, "-O", after);
	ck_assert_msg(rc == 0, "crm_simulate --node-fail exited %d: %s", rc, out);
	graph_load(g);
	static const step_t steps[] = {
		{"crm_event", "stonith-rx-a-reboot", "rx-a"}, {"rsc_op", "drbd-rxd_promote_0", "rx-b"},
		{"rsc_op", "fs-rxd_start_0", "rx-b"},         {"rsc_op", "ip-rxd_start_0", "rx-b"},
		{"rsc_op", "rxd_start_0", "rx-b"},
	};
	assert_order(steps, 5);
	ck_assert_int_eq(count_fencing("rx-a"), 1);
	ck_assert_int_eq(count_fencing(NULL), 1);
	/* Nothing is asked of the failed node: what it ran is known stopped
	 * only by fencing it. */
	for (int i = 0; i < graph.n; i++)
		ck_assert_msg(!(strcmp(graph.a[i].kind, "rsc_op") == 0 && strcmp(graph.a[i].node, "rx-a") == 0),
			      "%s is run on the failed node rx-a", graph.a[i].key);
	assert_runs_on(after, "rx-b");
}
END_TEST

START_TEST(standby_switches_over_cleanly)
{
	char state[300], g[300], after[300], e[512];
	cluster_on_rx_a(state, sizeof state);
	/* What `crm node standby rx-a` sets. */
	int rc = RUN(ENV(cib_env(e, sizeof e, state)), "crm_attribute", "-t", "nodes", "-N", "rx-a", "-n",
		     "standby", "-v", "on");
	ck_assert_msg(rc == 0, "crm_attribute standby exited %d: %s", rc, out);
	path_in(g, sizeof g, "standby-graph.xml");
	path_in(after, sizeof after, "standby-after.xml");
	rc = RUN(NULL, "crm_simulate", "-x", state, "-S", "-G", g, "-O", after);
	ck_assert_msg(rc == 0, "crm_simulate exited %d: %s", rc, out);
	graph_load(g);
	assert_order(switch_over, 8);
	ck_assert_int_eq(count_fencing(NULL), 0);
	assert_runs_on(after, "rx-b");
}
END_TEST

START_TEST(move_switches_over_cleanly)
{
	char state[300], g[300], after[300], g2[300], e_cib[512], e_home[300];
	cluster_on_rx_a(state, sizeof state);
	need("crm", "crmsh");
	snprintf(e_home, sizeof e_home, "HOME=%s", tu_scratch);
	/* The operator's command, through crmsh. */
	int rc = RUN(ENV(cib_env(e_cib, sizeof e_cib, state), e_home), "crm", "-D", "plain", "resource",
		     "move", "g-rxd", "rx-b");
	ck_assert_msg(rc == 0, "crm resource move exited %d: %s", rc, out);
	path_in(g, sizeof g, "move-graph.xml");
	path_in(after, sizeof after, "moved.xml");
	rc = RUN(NULL, "crm_simulate", "-x", state, "-S", "-G", g, "-O", after);
	ck_assert_msg(rc == 0, "crm_simulate exited %d: %s", rc, out);
	graph_load(g);
	assert_order(switch_over, 8);
	ck_assert_int_eq(count_fencing(NULL), 0);
	assert_runs_on(after, "rx-b");

	/* `crm resource clear` drops the move's constraint; stickiness keeps
	 * everything on rx-b (no failback). */
	rc = RUN(ENV(cib_env(e_cib, sizeof e_cib, after), e_home), "crm", "-D", "plain", "resource",
		 "clear", "g-rxd");
	ck_assert_msg(rc == 0, "crm resource clear exited %d: %s", rc, out);
	char *text = read_file(after);
	ck_assert_msg(strstr(text, "cli-prefer-g-rxd") == NULL, "clear left the constraint");
	free(text);
	path_in(g2, sizeof g2, "cleared-graph.xml");
	rc = RUN(NULL, "crm_simulate", "-x", after, "-S", "-G", g2);
	ck_assert_msg(rc == 0, "crm_simulate exited %d: %s", rc, out);
	graph_load(g2);
	ck_assert_msg(graph.n == 0, "after clear the cluster takes %d actions (failback?)", graph.n);
}
END_TEST

/* ---- the OCF agent ---- */

#define OCF_SUCCESS 0
#define OCF_ERR_GENERIC 1
#define OCF_ERR_INSTALLED 5
#define OCF_ERR_CONFIGURED 6
#define OCF_NOT_RUNNING 7

/* The agent's settings for one run: in the test's scratch dir. */
typedef struct {
	char dir[TU_PATH_MAX + 16], pidfile[TU_PATH_MAX + 16], log[TU_PATH_MAX + 16];
	const char *health_timeout; /* seconds */
	int allow_new_store;
	int probe;                  /* monitor as a probe (interval 0) */
	const char *rxd;            /* NULL: $RXD */
} agent_t;

static void agent_init(agent_t *ag, const char *name)
{
	memset(ag, 0, sizeof *ag);
	snprintf(ag->dir, sizeof ag->dir, "%s/%s", tu_scratch, name);
	ck_assert_int_eq(mkdir(ag->dir, 0700), 0);
	snprintf(ag->pidfile, sizeof ag->pidfile, "%s/%s.pid", tu_scratch, name);
	snprintf(ag->log, sizeof ag->log, "%s/%s.log", tu_scratch, name);
	ag->health_timeout = "5";
}

/* Run the agent's action as Pacemaker would (OCF_RESKEY_* in the
 * environment), without a systemd unit; its exit code. */
static int agent(const agent_t *ag, const char *action)
{
	char path[300], e[10][400];
	const char *rxd = ag->rxd ? ag->rxd : getenv("RXD");
	ck_assert_msg(rxd && getenv("RXCTL"), "RXD and RXCTL must be set");
	ha("ocf/rxd", path, sizeof path);
	snprintf(e[0], sizeof e[0], "OCF_RESKEY_data_dir=%s", ag->dir);
	snprintf(e[1], sizeof e[1], "OCF_RESKEY_rxd=%s", rxd);
	snprintf(e[2], sizeof e[2], "OCF_RESKEY_rxctl=%s", getenv("RXCTL"));
	snprintf(e[3], sizeof e[3], "OCF_RESKEY_pidfile=%s", ag->pidfile);
	snprintf(e[4], sizeof e[4], "OCF_RESKEY_logfile=%s", ag->log);
	snprintf(e[5], sizeof e[5], "OCF_RESKEY_health_timeout=%s", ag->health_timeout);
	snprintf(e[6], sizeof e[6], "OCF_RESKEY_allow_new_store=%s", ag->allow_new_store ? "true" : "false");
	/* A port the kernel picks: tests never collide on one. */
	snprintf(e[7], sizeof e[7], "OCF_RESKEY_options=--listen tcp://127.0.0.1:*");
	/* Pacemaker's timeout for the action, and a recurring monitor. */
	snprintf(e[8], sizeof e[8], "OCF_RESKEY_CRM_meta_timeout=%s",
		 strcmp(action, "start") == 0 ? "90000" : "30000");
	snprintf(e[9], sizeof e[9], "OCF_RESKEY_CRM_meta_interval=%s",
		 strcmp(action, "monitor") == 0 && !ag->probe ? "10000" : "0");
	return runv(ENV("OCF_ROOT=/usr/lib/ocf", "OCF_RESOURCE_INSTANCE=rxd", e[0], e[1], e[2], e[3],
			e[4], e[5], e[6], e[7], e[8], e[9]),
		    TOOL_TIMEOUT_MS, ARGV(path, action));
}

static pid_t pid_in(const char *pidfile)
{
	FILE *f = fopen(pidfile, "r");
	int pid = 0;
	if (f) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	return (pid_t)pid;
}

/* Wait (deadline ms) for our child pid to exit; its status, -1 if it did
 * not.  The test is the subreaper of what the agent starts. */
static int reap(pid_t pid, int ms)
{
	int status;
	for (int64_t deadline = now_ms() + ms; now_ms() < deadline; nap())
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
	return -1;
}

static void need_agent_tools(void)
{
	char meta[300];
	/* ocf-shellfuncs, which the agent sources. */
	ck_assert_msg(access("/usr/lib/ocf/lib/heartbeat/ocf-shellfuncs", R_OK) == 0,
		      "ocf-shellfuncs not found: install resource-agents (deploy/rx test does)");
	ck_assert_msg(access(ha("ocf/rxd", meta, sizeof meta), X_OK) == 0, "%s is not executable", meta);
	/* rxd started by the agent is re-parented to us, so it is ours to reap. */
	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
}

START_TEST(agent_meta_data_and_validate)
{
	agent_t ag;
	need_agent_tools();
	agent_init(&ag, "validate");
	ck_assert_int_eq(agent(&ag, "meta-data"), OCF_SUCCESS);
	/* resource-agents' schema for meta-data. */
	xmlRelaxNGParserCtxt *pc = xmlRelaxNGNewParserCtxt("/usr/share/resource-agents/metadata.rng");
	xmlRelaxNG *rng = xmlRelaxNGParse(pc);
	ck_assert_msg(rng != NULL, "cannot read resource-agents' metadata.rng");
	xmlRelaxNGValidCtxt *vc = xmlRelaxNGNewValidCtxt(rng);
	xmlDoc *doc = xmlReadMemory(out, (int)strlen(out), "meta-data", NULL, XML_PARSE_NONET);
	ck_assert_msg(doc != NULL, "meta-data is not XML: %s", out);
	ck_assert_msg(xmlRelaxNGValidateDoc(vc, doc) == 0, "meta-data does not validate: %s", out);
	ck_assert_msg(strstr(out, "<version>1.1</version>") != NULL, "not OCF 1.1");
	xmlFreeDoc(doc);
	xmlRelaxNGFreeValidCtxt(vc);
	xmlRelaxNGFree(rng);
	xmlRelaxNGFreeParserCtxt(pc);

	ck_assert_int_eq(agent(&ag, "validate-all"), OCF_SUCCESS);
	ag.health_timeout = "0";
	ck_assert_int_eq(agent(&ag, "validate-all"), OCF_ERR_CONFIGURED);
	ag.health_timeout = "5";
	ag.rxd = "build/broker/rxd"; /* rxd runs from /: only absolute paths */
	ck_assert_int_eq(agent(&ag, "validate-all"), OCF_ERR_CONFIGURED);
	ag.rxd = "/nonexistent/rxd";
	ck_assert_int_eq(agent(&ag, "validate-all"), OCF_ERR_INSTALLED);
	/* A node without rxd runs none: a probe says so, a stop succeeds. */
	ag.probe = 1;
	ck_assert_int_eq(agent(&ag, "monitor"), OCF_NOT_RUNNING);
	ck_assert_int_eq(agent(&ag, "stop"), OCF_SUCCESS);
	ag.rxd = NULL;
	ck_assert_int_eq(agent(&ag, "no-such-action"), 3 /* OCF_ERR_UNIMPLEMENTED */);
}
END_TEST

START_TEST(agent_start_monitor_stop)
{
	agent_t ag;
	char mdb[300];
	need_agent_tools();
	agent_init(&ag, "life");
	snprintf(mdb, sizeof mdb, "%s/data.mdb", ag.dir);

	ck_assert_int_eq(agent(&ag, "monitor"), OCF_NOT_RUNNING);
	/* An empty data dir (the DRBD file system not mounted) is not started:
	 * rxd would make a new store with new keys there. */
	int rc = agent(&ag, "start");
	ck_assert_msg(rc == OCF_ERR_GENERIC && strstr(out, "no store") != NULL, "start: %d %s", rc, out);
	ck_assert_int_ne(access(mdb, F_OK), 0);
	ck_assert_int_eq(agent(&ag, "monitor"), OCF_NOT_RUNNING);

	ag.allow_new_store = 1;
	int64_t t0 = now_ms();
	rc = agent(&ag, "start");
	ck_assert_msg(rc == OCF_SUCCESS, "start exited %d: %s", rc, out);
	fprintf(stderr, "ha: agent start returned after %lld ms\n", (long long)(now_ms() - t0));
	pid_t pid = pid_in(ag.pidfile);
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(kill(pid, 0), 0);
	ck_assert_int_eq(access(mdb, F_OK), 0);

	rc = agent(&ag, "monitor");
	ck_assert_msg(rc == OCF_SUCCESS, "monitor exited %d: %s", rc, out);
	/* start on a running rxd: success, the same process. */
	ck_assert_int_eq(agent(&ag, "start"), OCF_SUCCESS);
	ck_assert_int_eq(pid_in(ag.pidfile), pid);

	rc = agent(&ag, "stop");
	ck_assert_msg(rc == OCF_SUCCESS, "stop exited %d: %s", rc, out);
	int status = reap(pid, 10000);
	ck_assert_msg(status != -1, "rxd %d still there after stop", (int)pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "rxd ended with status 0x%x", status);
	ck_assert_int_ne(access(ag.pidfile, F_OK), 0);
	ck_assert_int_eq(agent(&ag, "monitor"), OCF_NOT_RUNNING);
	ck_assert_int_eq(agent(&ag, "stop"), OCF_SUCCESS);

	/* With its store there, rxd starts without allow_new_store. */
	ag.allow_new_store = 0;
	rc = agent(&ag, "start");
	ck_assert_msg(rc == OCF_SUCCESS, "start on an existing store exited %d: %s", rc, out);
	pid = pid_in(ag.pidfile);
	ck_assert_int_eq(agent(&ag, "stop"), OCF_SUCCESS);
	ck_assert_int_ne(reap(pid, 10000), -1);
}
END_TEST

START_TEST(agent_frozen_rxd_fails_monitor)
{
	agent_t ag;
	need_agent_tools();
	agent_init(&ag, "frozen");
	ag.allow_new_store = 1;
	int rc = agent(&ag, "start");
	ck_assert_msg(rc == OCF_SUCCESS, "start exited %d: %s", rc, out);
	pid_t pid = pid_in(ag.pidfile);
	ck_assert_int_gt(pid, 0);

	/* Alive but answering nothing: not "not running", a failure, and
	 * within the health timeout (1 s; rxctl is killed 5 s later at the
	 * latest; the rest is slack for a loaded machine). */
	ck_assert_int_eq(kill(pid, SIGSTOP), 0);
	ag.health_timeout = "1";
	int64_t t0 = now_ms();
	rc = agent(&ag, "monitor");
	int64_t took = now_ms() - t0;
	fprintf(stderr, "ha: monitor of a frozen rxd: %d after %lld ms\n", rc, (long long)took);
	ck_assert_msg(rc != OCF_SUCCESS && rc != OCF_NOT_RUNNING && rc != -1, "monitor exited %d: %s", rc,
		      out);
	ck_assert_msg(strstr(out, "not healthy") != NULL, "no reason given: %s", out);
	ck_assert_msg(took < 15000, "monitor took %lld ms", (long long)took);

	/* stop ends it all the same (SIGTERM, then SIGCONT to let it act). */
	rc = agent(&ag, "stop");
	ck_assert_msg(rc == OCF_SUCCESS, "stop exited %d: %s", rc, out);
	ck_assert_msg(reap(pid, 10000) != -1, "frozen rxd %d still there after stop", (int)pid);
	ck_assert_int_eq(agent(&ag, "monitor"), OCF_NOT_RUNNING);
}
END_TEST

/* Unchecked teardown, in the parent: an rxd a failed test left running is
 * killed by the PID in its pid file (only if it is rxd on our dir). */
static void kill_leftovers(void)
{
	static const char *names[] = {"life", "frozen", "validate"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char pidfile[300], proc[64], cmd[4096] = "";
		snprintf(pidfile, sizeof pidfile, "%s/%s.pid", tu_scratch, names[i]);
		pid_t pid = pid_in(pidfile);
		if (pid <= 0)
			continue;
		snprintf(proc, sizeof proc, "/proc/%d/cmdline", (int)pid);
		FILE *f = fopen(proc, "r");
		size_t n = f ? fread(cmd, 1, sizeof cmd - 1, f) : 0;
		if (f)
			fclose(f);
		for (size_t k = 0; k < n; k++)
			if (cmd[k] == '\0')
				cmd[k] = ' ';
		if (strstr(cmd, tu_scratch)) {
			kill(pid, SIGKILL);
			fprintf(stderr, "ha: killed rxd %d left by a failed test\n", (int)pid);
		}
	}
}

static void scratch_teardown(void)
{
	kill_leftovers();
	tu_scratch_teardown();
}

static Suite *ha_suite(void)
{
	Suite *s = suite_create("ha");
	TCase *t = tcase_create("cib");
	tcase_add_unchecked_fixture(t, tu_scratch_setup, scratch_teardown);
	tcase_add_test(t, cib_verifies);
	tcase_add_test(t, crm_txt_is_cib_xml);
	suite_add_tcase(s, t);
	t = tcase_create("drbd");
	tcase_add_unchecked_fixture(t, tu_scratch_setup, scratch_teardown);
	tcase_add_test(t, drbd_resource_parses);
	suite_add_tcase(s, t);
	t = tcase_create("simulate");
	tcase_add_unchecked_fixture(t, tu_scratch_setup, scratch_teardown);
	tcase_add_test(t, steady_on_rx_a);
	tcase_add_test(t, failover_fences_first);
	tcase_add_test(t, standby_switches_over_cleanly);
	tcase_add_test(t, move_switches_over_cleanly);
	suite_add_tcase(s, t);
	t = tcase_create("agent");
	tcase_add_unchecked_fixture(t, tu_scratch_setup, scratch_teardown);
	tcase_add_test(t, agent_meta_data_and_validate);
	tcase_add_test(t, agent_start_monitor_stop);
	tcase_add_test(t, agent_frozen_rxd_fails_monitor);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	/* crm_* and drbdadm live in /usr/sbin, not on every user's PATH. */
	char path[4096];
	snprintf(path, sizeof path, "%s:/usr/sbin:/sbin", getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	setenv("PATH", path, 1);
	return tu_run(ha_suite());
}
