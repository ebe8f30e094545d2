// Browser end-to-end harness: a store written by hand (manifest.json +
// events.jsonl, as the tracer would write them), a real server (the
// `serve` example of the bop crate, calling bop::server::serve exactly as
// `bop serve` will), and the system Chromium driven by playwright-core.
//
// Environment: BOP_SERVE (server binary; default target/debug/examples/serve,
// built with cargo if missing), CHROMIUM (default /usr/bin/chromium).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const artifacts = path.join(repo, "tests/artifacts");

/** One raw event (docs/EVENTS.md). */
function ev(seq, pid, call, start_ms, end_ms, extra = {}) {
  return { seq, pid, tid: pid, call, ret: 0, start_ns: Math.round(start_ms * 1e6), end_ns: end_ms === null ? null : Math.round(end_ms * 1e6), ...extra };
}

/** A client/server exchange over TCP, as the tracer records it. */
function kvEvents() {
  const server = { kind: "tcp", stream: true, local: "127.0.0.1:7000", peer: "127.0.0.1:50000" };
  const client = { kind: "tcp", stream: true, local: "127.0.0.1:50000", peer: "127.0.0.1:7000" };
  const listen = { kind: "tcp", stream: true, local: "127.0.0.1:7000" };
  let seq = 0;
  const n = () => ++seq;
  return [
    ev(n(), 200, "start", 0, 0, { ret: null, detail: { node: "primary" } }),
    ev(n(), 100, "start", 0.1, 0.1, { ret: null, detail: { node: "client" } }),
    ev(n(), 200, "socket", 0.2, 0.21, { ret: 3, detail: { fds: [3] } }),
    ev(n(), 200, "bind", 0.22, 0.23, { fd: 3, endpoint: listen, detail: { addr: "127.0.0.1:7000" } }),
    ev(n(), 200, "listen", 0.24, 0.25, { fd: 3, endpoint: listen }),
    ev(n(), 100, "socket", 0.5, 0.51, { ret: 3, detail: { fds: [3] } }),
    ev(n(), 100, "connect", 0.6, 0.9, { fd: 3, endpoint: client, detail: { addr: "127.0.0.1:7000" } }),
    ev(n(), 200, "accept4", 0.3, 0.95, { fd: 3, ret: 4, detail: { fds: [4], new_endpoints: [server] } }),
    ev(n(), 100, "write", 1.0, 1.02, { fd: 3, ret: 10, bytes: 10, endpoint: client, data: "5345542078203d2031" }),
    ev(n(), 200, "read", 0.96, 1.05, { fd: 4, ret: 10, bytes: 10, endpoint: server, data: "5345542078203d2031" }),
    ev(n(), 200, "write", 1.5, 1.52, { fd: 4, ret: 3, bytes: 3, endpoint: server, data: "4f4b0a" }),
    ev(n(), 100, "read", 1.03, 1.55, { fd: 3, ret: 3, bytes: 3, endpoint: client, data: "4f4b0a" }),
    ev(n(), 100, "close", 2.0, 2.01, { fd: 3, endpoint: client }),
    ev(n(), 200, "read", 1.6, 2.05, { fd: 4, ret: 0, bytes: 0, endpoint: server }),
    ev(n(), 100, "exit_group", 2.2, 2.2, { ret: null, detail: { status: 0 } }),
    ev(n(), 200, "exit_group", 2.5, 2.5, { ret: null, detail: { status: 0 } }),
  ];
}

function manifest(id, started_ms, extra = {}) {
  return {
    schema: 1,
    id,
    target: { type: "command", argv: ["kv-demo"], cwd: "/" },
    command: "kv-demo --keys 1",
    started_ms,
    ended_ms: started_ms + 3,
    status: "done",
    ended_by: "exited",
    exit_status: 0,
    verdict: "pass",
    trace_class: "5be1c0de9a7f",
    parent: null,
    faults: [],
    counts: { events: 16, processes: 2, threads: 2 },
    capture_bytes: 16,
    error: null,
    ...extra,
  };
}

/** Writes a store with a run, a rerun of it, and an unrelated run. */
export function makeStore() {
  const dir = mkdtempSync(path.join(tmpdir(), "bop-e2e-"));
  const events = kvEvents().map((e) => JSON.stringify(e)).join("\n") + "\n";
  const runs = [
    manifest("kv-1", 1_764_000_000_000),
    manifest("kv-1-drop", 1_764_000_100_000, {
      parent: "kv-1",
      verdict: "fail",
      exit_status: 1,
      trace_class: "77aa00ff1234",
      faults: [{ kind: "drop", message: "client->primary#0/0", fired: true }],
    }),
    manifest("echo-2", 1_764_000_200_000, { command: "echo zebra", trace_class: "0123456789ab" }),
  ];
  for (const m of runs) {
    mkdirSync(path.join(dir, m.id));
    writeFileSync(path.join(dir, m.id, "manifest.json"), JSON.stringify(m, null, 2));
    writeFileSync(path.join(dir, m.id, "events.jsonl"), events);
  }
  return dir;
}

function serverBinary() {
  const bin = process.env.BOP_SERVE ?? path.join(repo, "target/debug/examples/serve");
  if (!existsSync(bin) && !process.env.BOP_SERVE) {
    const built = spawnSync("cargo", ["build", "-p", "bop", "--example", "serve", "--bin", "bop"], { cwd: repo, stdio: "inherit" });
    if (built.status !== 0) throw new Error("cargo build of the serve example failed");
  }
  return bin;
}

/** Starts a server on 127.0.0.1:0 and resolves with its base URL once it prints it. */
export async function startServer(store) {
  const child = spawn(serverBinary(), ["--store", store, "--addr", "127.0.0.1:0", "--static", path.join(repo, "static")], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const url = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`server did not start in 20 s; stderr:\n${stderr}`)), 20_000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/bop serve: listening on (http:\/\/\S+\/)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on("exit", (code) => reject(new Error(`server exited ${code}; stderr:\n${stderr}`)));
  });
  return {
    url,
    stderr: () => stderr,
    stop: () =>
      new Promise((resolve) => {
        child.once("exit", resolve);
        child.kill("SIGINT");
        setTimeout(() => child.kill("SIGKILL"), 5_000).unref();
      }),
  };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** A page that fails the test on any request leaving the server (no external resources). */
export async function openPage(browser, base) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const external = [];
  const errors = [];
  page.on("request", (r) => {
    if (!r.url().startsWith(base) && !r.url().startsWith("data:")) external.push(r.url());
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  return { page, external, errors };
}

export function screenshotPath(name) {
  mkdirSync(artifacts, { recursive: true });
  return path.join(artifacts, `${name}.png`);
}

export function cleanup(dir) {
  rmSync(dir, { recursive: true, force: true });
}
