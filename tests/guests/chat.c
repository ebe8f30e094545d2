/* A chatty guest for the fast path tests (tests/fastpath.rs), in C so it
 * can be linked both dynamically (the preload library handles its calls)
 * and statically (no libc to interpose: everything takes the ptrace
 * path). Built with _FORTIFY_SOURCE, so read and recv are glibc's
 * __read_chk and __recv_chk. chat N: N round trips over a socketpair,
 * each kind of hot call in turn; exits 0 when every reply was right. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static int echo(int fd) {
    char buf[64];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return n == 0 ? 0 : 1;
        struct iovec iov = {buf, (size_t)n};
        if (writev(fd, &iov, 1) != n) return 1;
    }
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 10;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 2;
    pid_t child = fork();
    if (child == 0) {
        close(sv[0]);
        _exit(echo(sv[1]));
    }
    close(sv[1]);
    /* Not a constant, so fortify checks it at run time (__read_chk). */
    size_t cap = argc > 2 ? (size_t)atoi(argv[2]) : 32;
    for (int i = 0; i < n; i++) {
        char msg[32], back[32];
        int len = snprintf(msg, sizeof msg, "msg %d", i);
        ssize_t sent = i % 2 ? send(sv[0], msg, len, 0) : write(sv[0], msg, len);
        if (sent != len) return 3;
        ssize_t got = i % 3 == 0 ? read(sv[0], back, cap)
                                 : recv(sv[0], back, cap, 0);
        if (got != len || memcmp(msg, back, len) != 0) return 4;
    }
    close(sv[0]);
    int status = 0;
    waitpid(child, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 5;
}
