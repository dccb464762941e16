/*
 * The lab's tests of /dev/vmlab, built in the guest at lab start. Each prints one line,
 * NAME=1 when the module behaves as the handout says, else NAME=0 and why.
 *   kmodtest functional KEY BUFSIZE
 *   kmodtest stress KEY BUFSIZE SECONDS
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEV "/dev/vmlab"

static int fail(const char *test, const char *why)
{
	printf("%s=0 %s (errno %d: %s)\n", test, why, errno, strerror(errno));
	return 1;
}

static int decoded_equals(const unsigned char *got, const unsigned char *want, size_t n, int key)
{
	for (size_t i = 0; i < n; i++)
		if ((got[i] ^ key) != want[i])
			return 0;
	return 1;
}

static int functional(int key, int bufsize)
{
	unsigned char buf[70000], want[70000];
	int fd = open(DEV, O_RDWR);
	ssize_t n;

	if (fd < 0)
		return fail("functional_ok", "cannot open " DEV);
	errno = 0;
	if ((n = read(fd, buf, 10)) != 0)
		return fail("functional_ok", "reading an empty device must return 0");
	if (write(fd, "hello", 5) != 5)
		return fail("functional_ok", "writing 5 bytes must return 5");
	n = read(fd, buf, sizeof(buf));
	if (n != 5 || !decoded_equals(buf, (const unsigned char *)"hello", 5, key))
		return fail("functional_ok", "reading back 'hello' must give its 5 bytes XOR key");
	for (int i = 0; i < bufsize + 10; i++)
		want[i] = 'a' + i % 26;
	if ((n = write(fd, want, bufsize + 10)) != bufsize)
		return fail("functional_ok", "writing bufsize+10 bytes must take exactly bufsize");
	errno = 0;
	if (write(fd, want, 1) != -1 || errno != ENOSPC)
		return fail("functional_ok", "writing to a full device must fail with ENOSPC");
	int other = open(DEV, O_RDONLY);
	if (other < 0)
		return fail("functional_ok", "a second open must work");
	size_t got = 0;
	while (got < (size_t)bufsize) {
		n = read(other, buf + got, 7);
		if (n <= 0)
			return fail("functional_ok", "a full device must give back bufsize bytes, to any opener");
		got += n;
	}
	if (!decoded_equals(buf, want, bufsize, key))
		return fail("functional_ok", "bytes must come back in order, each XOR key");
	if (read(other, buf, 10) != 0)
		return fail("functional_ok", "a drained device must return 0");
	close(other);
	close(fd);
	printf("functional_ok=1\n");
	return 0;
}

/* Writers put letters in, readers take bytes out, with opens and closes in between; at the
 * end every byte written must have been read (or still be there), and each must decode to
 * a letter. Counts travel back through a pipe. */
static int stress(int key, int bufsize, int seconds)
{
	enum { WRITERS = 3, READERS = 3 };
	int pipefd[2];
	pid_t pids[WRITERS + READERS];

	if (pipe(pipefd) < 0)
		return fail("stress_ok", "pipe");
	for (int p = 0; p < WRITERS + READERS; p++) {
		pid_t pid = fork();
		if (pid < 0)
			return fail("stress_ok", "fork");
		if (pid == 0) {
			int writer = p < WRITERS;
			long total = 0, bad = 0;
			time_t end = time(NULL) + seconds;
			unsigned char buf[512];
			srand(p + 1);
			while (time(NULL) < end) {
				int fd = open(DEV, O_RDWR);
				if (fd < 0) { bad++; continue; }
				for (int round = 0; round < 20; round++) {
					size_t len = 1 + rand() % sizeof(buf);
					if (writer) {
						for (size_t i = 0; i < len; i++)
							buf[i] = 'a' + rand() % 26;
						ssize_t n = write(fd, buf, len);
						if (n > 0) total += n;
						else if (n < 0 && errno != ENOSPC) bad++;
					} else {
						ssize_t n = read(fd, buf, len);
						if (n > 0) {
							total += n;
							for (ssize_t i = 0; i < n; i++) {
								int c = buf[i] ^ key;
								if (c < 'a' || c > 'z') bad++;
							}
						} else if (n < 0) bad++;
					}
				}
				close(fd);
			}
			char line[64];
			int len = snprintf(line, sizeof(line), "%c %ld %ld\n", writer ? 'w' : 'r', total, bad);
			if (write(pipefd[1], line, len) != len) _exit(2);
			_exit(0);
		}
		pids[p] = pid;
	}
	close(pipefd[1]);
	int crashed = 0;
	for (int p = 0; p < WRITERS + READERS; p++) {
		int status;
		waitpid(pids[p], &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			crashed++;
	}
	long written = 0, readb = 0, bad = 0;
	FILE *in = fdopen(pipefd[0], "r");
	char kind;
	long total, wrong;
	while (in && fscanf(in, " %c %ld %ld", &kind, &total, &wrong) == 3) {
		if (kind == 'w') written += total; else readb += total;
		bad += wrong;
	}
	int fd = open(DEV, O_RDONLY);
	unsigned char buf[4096];
	ssize_t n;
	while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
		readb += n;
	if (fd >= 0)
		close(fd);
	if (crashed)
		return printf("stress_ok=0 %d of %d test processes died (see the kernel log)\n", crashed, WRITERS + READERS), 1;
	if (written != readb || bad)
		return printf("stress_ok=0 wrote %ld bytes, read back %ld, %ld errors or wrong bytes\n", written, readb, bad), 1;
	printf("stress_ok=1 %ld bytes through %d writers and %d readers\n", written, WRITERS, READERS);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc >= 4 && !strcmp(argv[1], "functional"))
		return functional(atoi(argv[2]), atoi(argv[3]));
	if (argc >= 5 && !strcmp(argv[1], "stress"))
		return stress(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
	fprintf(stderr, "usage: kmodtest functional KEY BUFSIZE | stress KEY BUFSIZE SECONDS\n");
	return 64;
}
