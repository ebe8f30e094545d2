/** Classes of traced calls, for colouring marks and choosing tooltips. */

export const CLASS_OTHER = 0;
export const CLASS_SEND = 1;
export const CLASS_RECV = 2;
export const CLASS_SETUP = 3;
export const CLASS_TEARDOWN = 4;
export const CLASS_PROCESS = 5;
export const CLASS_NAMES = ["other", "send", "receive", "setup", "teardown", "process"] as const;

const CLASSES: Record<string, number> = {};
const put = (cls: number, calls: string) => calls.split(" ").forEach((c) => (CLASSES[c] = cls));
put(CLASS_SEND, "write writev pwrite64 send sendto sendmsg sendmmsg");
put(CLASS_RECV, "read readv pread64 recv recvfrom recvmsg recvmmsg");
put(CLASS_SETUP, "socket socketpair pipe pipe2 bind listen connect accept accept4 dup dup2 dup3 fcntl");
put(CLASS_TEARDOWN, "close shutdown");
put(CLASS_PROCESS, "start exec execve fork vfork clone clone3 wait4 waitid exit exit_group killed");

export function callClass(call: string): number {
  return CLASSES[call] ?? CLASS_OTHER;
}
