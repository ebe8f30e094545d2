// A Go guest for the fast path's fallback (issue 15 item 5): the Go
// runtime makes its system calls itself, with its own SYSCALL
// instructions, not through libc, even when the binary is dynamically
// linked (cgo's resolver links libc in). So the preload library loads but
// sees none of the data calls, and every one of them must still be
// recorded, under ptrace, exactly as with --no-fast-path.
//
// Usage: pingpong ROUNDS. The parent listens on TCP loopback, runs itself
// as the client (`pingpong client ADDR ROUNDS`) and answers each 8-byte
// ping with an 8-byte pong; one message is in flight at a time, so the
// messages are the same in every run.
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
)

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "pingpong:", err)
		os.Exit(2)
	}
}

func rounds(s string) int {
	n, err := strconv.Atoi(s)
	must(err)
	return n
}

func client(addr string, n int) {
	c, err := net.Dial("tcp", addr)
	must(err)
	buf := make([]byte, 8)
	for i := 0; i < n; i++ {
		_, err = c.Write([]byte(fmt.Sprintf("ping%04d", i%10000)))
		must(err)
		_, err = io.ReadFull(c, buf)
		must(err)
	}
	must(c.Close())
}

func main() {
	if len(os.Args) == 4 && os.Args[1] == "client" {
		client(os.Args[2], rounds(os.Args[3]))
		return
	}
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: pingpong ROUNDS")
		os.Exit(2)
	}
	n := rounds(os.Args[1])
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	cmd := exec.Command("/proc/self/exe", "client", ln.Addr().String(), strconv.Itoa(n))
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	must(cmd.Start())
	c, err := ln.Accept()
	must(err)
	buf := make([]byte, 8)
	for i := 0; i < n; i++ {
		_, err = io.ReadFull(c, buf)
		must(err)
		_, err = c.Write([]byte(fmt.Sprintf("pong%04d", i%10000)))
		must(err)
	}
	must(cmd.Wait())
	fmt.Println("done", n)
}
