/* Run a command and print its peak RSS in KiB (ru_maxrss of the whole
 * process tree it waited for) as the last line on stderr.
 *
 * vfork, so the child starts with no memory of its own: a child forked
 * from Python would count Python's pages until it execs, and `busybox time`
 * reports ru_maxrss four times too large (it takes KiB for pages). */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: maxrss COMMAND [ARG...]\n");
        return 2;
    }
    pid_t pid = vfork();
    if (pid == 0) {
        execvp(argv[1], argv + 1);
        _exit(127);
    }
    if (pid < 0) {
        perror("maxrss: vfork");
        return 2;
    }
    int status;
    struct rusage usage;
    if (wait4(pid, &status, 0, &usage) < 0) {
        perror("maxrss: wait4");
        return 2;
    }
    fprintf(stderr, "%ld\n", usage.ru_maxrss);
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}
