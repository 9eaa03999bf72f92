/* replay: the fuzz targets without libFuzzer.  Runs every file named on the
 * command line (a directory: every file in it, in name order) through the
 * target's LLVMFuzzerTestOneInput once, so the corpus, and every crash
 * once fixed and added to it, is a regression test of the ordinary build.
 * Exit 0 if all ran; a crash is the failure. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	if (f == NULL || fstat(fileno(f), &st) != 0) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		if (f)
			fclose(f);
		return -1;
	}
	size_t n = (size_t)st.st_size;
	uint8_t *buf = malloc(n ? n : 1);
	if (buf == NULL || fread(buf, 1, n, f) != n) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	/* Printed first, so a crash names its input. */
	fprintf(stderr, "replay: %s (%zu bytes)\n", path, n);
	(void)LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return 0;
}

static int only_files(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

int main(int argc, char **argv)
{
	int runs = 0, bad = 0;
	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: no such file or directory: %s\n", argv[i]);
			bad++;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			bad += run_file(argv[i]) != 0;
			runs++;
			continue;
		}
		struct dirent **list;
		int n = scandir(argv[i], &list, only_files, alphasort);
		if (n < 0) {
			fprintf(stderr, "replay: cannot list %s\n", argv[i]);
			bad++;
			continue;
		}
		for (int j = 0; j < n; j++) {
			char path[4096];
			snprintf(path, sizeof path, "%s/%s", argv[i], list[j]->d_name);
			bad += run_file(path) != 0;
			runs++;
			free(list[j]);
		}
		free(list);
	}
	printf("replay: %d inputs, %d unreadable\n", runs, bad);
	return bad || runs == 0 ? 1 : 0;
}
