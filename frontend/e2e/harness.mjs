// Browser end-to-end harness: real runs recorded by the real `bop` binary
// (`bop demo`, `bop run`), a real `bop serve` on 127.0.0.1:0, and the
// system Chromium driven by playwright-core with a fresh profile.
//
// Environment: BOP (the bop binary; default target/debug/bop, built with
// cargo when missing; the Makefile passes target/release/bop), CHROMIUM
// (default /usr/bin/chromium).
//
// Everything started here is stopped by `stopAll()` (the tests' `after`
// hook) and, as a last resort, when node exits: no server, rerun or
// browser outlives the tests, even when they fail.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const artifacts = path.join(repo, "tests/artifacts");

/** Children still running (servers), killed on exit whatever happens. */
const children = new Set();
/** Temporary directories to remove (stores, browser profiles). */
const temporary = new Set();
process.on("exit", () => {
  for (const child of children) {
    try {
      // The server runs in its own process group; its reruns in theirs
      // (the server SIGTERMs them when it stops normally).
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});

/** Waits until the page says it has drawn (`body[data-rendered]`). */
export const rendered = (page) => page.waitForSelector("body[data-rendered]", { timeout: 20_000 });

/**
 * The `after` hook of every browser test file: closes the browser, stops
 * the server and removes the store, each only if it was made (a failed
 * `before` leaves the rest unset).
 */
export async function stopAll(browser, server, store) {
  await browser?.close();
  await server?.stop();
  if (store) cleanup(store);
}

/** The bop binary: $BOP, or target/debug/bop (built with its bop-kv sibling when missing). */
/** The guest program built next to bop (tests/guests/guest.rs): the big-run
 * tests and benches record its ping-pong. Fails with what to build. */
export function guestBinary() {
  const guest = path.join(path.dirname(bopBinary()), "guest");
  if (!existsSync(guest)) throw new Error(`${guest} is missing: build the workspace's binaries (make build, or cargo build --workspace --bins)`);
  return guest;
}

export function bopBinary() {
  if (process.env.BOP) {
    if (!existsSync(process.env.BOP)) throw new Error(`BOP=${process.env.BOP} does not exist (make build?)`);
    return process.env.BOP;
  }
  const bin = path.join(repo, "target/debug/bop");
  if (!existsSync(bin) || !existsSync(path.join(repo, "target/debug/bop-kv"))) {
    const built = spawnSync("cargo", ["build", "-p", "bop", "--bins"], { cwd: repo, stdio: "inherit" });
    if (built.status !== 0) throw new Error("cargo build -p bop --bins failed");
  }
  return bin;
}

/** Runs `bop ARGS...` to completion; throws with its stderr unless it exits `expect`. */
export function bop(args, expect = 0) {
  const res = spawnSync(bopBinary(), args, { encoding: "utf8", timeout: 120_000, stdio: ["ignore", "pipe", "pipe"] });
  if (res.status !== expect) {
    throw new Error(`bop ${args.join(" ")} exited ${res.status ?? res.signal} (expected ${expect}):\n${res.stderr}${res.stdout}`);
  }
  return res;
}

/** A temporary directory removed at exit (or by `cleanup`). */
export function tempDir(prefix) {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  temporary.add(dir);
  return dir;
}

export function cleanup(dir) {
  rmSync(dir, { recursive: true, force: true });
  temporary.delete(dir);
}

/**
 * A store with two real recorded runs: `demo` (the bundled replicated
 * key-value store: primary, replica, client; verdict pass) and `echo`
 * (`/bin/sh -c 'echo hi | cat'`: a pipe between two processes).
 */
export function makeStore() {
  const store = tempDir("bop-e2e-store-");
  bop(["demo", "--store", store, "--id", "demo"]);
  bop(["run", "--store", store, "--id", "echo", "--quiet", "--", "/bin/sh", "-c", "echo hi | cat"]);
  return store;
}

/** Starts `bop serve` on 127.0.0.1:0 and resolves with its base URL once it prints it. */
export async function startServer(store) {
  const child = spawn(bopBinary(), ["serve", "--store", store, "--addr", "127.0.0.1:0", "--static", path.join(repo, "static")], {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // its own process group, so the exit hook can kill it and anything it left
  });
  children.add(child);
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal)));
  exited.then(() => children.delete(child));
  const url = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`bop serve did not start in 20 s; stderr:\n${stderr}`)), 20_000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/bop serve: listening on (http:\/\/\S+\/)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`bop serve exited ${code}; stderr:\n${stderr}`));
    });
  });
  return {
    url,
    stderr: () => stderr,
    /** SIGINT (the server stops its reruns), SIGKILL to the group after 10 s. */
    stop: async () => {
      if (!children.has(child)) return;
      child.kill("SIGINT");
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          // gone
        }
      }, 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Chromium with a fresh profile; `close()` also removes the profile. */
export async function launchBrowser() {
  const profile = tempDir("bop-e2e-chromium-");
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  return {
    context,
    close: async () => {
      await context.close();
      cleanup(profile);
    },
  };
}

/** A page that records requests leaving the server (there must be none) and page errors. */
export async function openPage(browser, base) {
  const page = await browser.context.newPage();
  const external = [];
  const errors = [];
  page.on("request", (r) => {
    if (!r.url().startsWith(base) && !r.url().startsWith("data:")) external.push(r.url());
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => {
    // A failed fetch is logged by the browser itself; the page shows it.
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) errors.push(`console: ${m.text()}`);
  });
  return { page, external, errors };
}

export function screenshotPath(name) {
  mkdirSync(artifacts, { recursive: true });
  return path.join(artifacts, `${name}.png`);
}
