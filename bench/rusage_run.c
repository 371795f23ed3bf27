/* rusage_run: runs a command and reports its resource usage, for bench_peers.py.
 *
 *   rusage_run REPORT_FILE COMMAND [ARG...]
 *
 * Forks, execs COMMAND, waits for it with wait4 and writes one line to
 * REPORT_FILE: "<exit status as from wait> <user s> <sys s> <maxrss KiB>"; exits
 * with the command's exit code (128+N if killed by signal N).
 *
 * Why not wait4 from Python directly: Linux records, at exec, the high-water RSS
 * of the memory the new process replaces, and a process forked (or vforked) from
 * the benchmark's Python carries Python's RSS (30 MiB and more once PIL has
 * decoded a 3840x2160 image) into ru_maxrss.  Forked from this small program,
 * the command's ru_maxrss is its own (plus at most this program's ~1 MiB).
 * CPU and ru_maxrss cover the command and every descendant it waited for.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: rusage_run REPORT_FILE COMMAND [ARG...]\n");
		return 2;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("rusage_run: fork");
		return 127;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "rusage_run: %s: ", argv[2]);
		perror("exec");
		_exit(127);
	}
	int status = 0;
	struct rusage usage;
	while (wait4(pid, &status, 0, &usage) < 0) {
		if (errno != EINTR) {
			perror("rusage_run: wait4");
			return 127;
		}
	}
	FILE *report = fopen(argv[1], "w");
	if (report == NULL) {
		perror("rusage_run: report file");
		return 127;
	}
	fprintf(report, "%d %ld.%06ld %ld.%06ld %ld\n", status, (long)usage.ru_utime.tv_sec,
		(long)usage.ru_utime.tv_usec, (long)usage.ru_stime.tv_sec,
		(long)usage.ru_stime.tv_usec, usage.ru_maxrss);
	if (fclose(report) != 0) {
		perror("rusage_run: report file");
		return 127;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}
