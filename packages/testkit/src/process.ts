import { spawn } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { onTestProcessExit } from './cleanup.js';
import { OutputBuffer } from './output-buffer.js';
import { repoRoot } from './paths.js';

export interface StartProcessOptions {
  /** Label for error messages, e.g. 'api'. */
  name: string;
  /** Executable, e.g. `tsxBin` or `process.execPath`. */
  command: string;
  args: string[];
  /** Merged over `process.env`. */
  env?: Record<string, string>;
  /** Working directory. Default: the repo root. */
  cwd?: string;
  /** When set, startProcess resolves only once a GET to this URL answers 200. */
  readyUrl?: string;
  /** How long to wait for `readyUrl`. Default 30_000 ms. */
  readyTimeoutMs?: number;
  /** How many output lines to keep for error messages. Default 200. */
  outputLines?: number;
}

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ProcessHandle {
  readonly name: string;
  readonly pid: number;
  /** The last lines of stdout and stderr, interleaved. */
  output(): string;
  /** Sends `sig` to the process group (no-op once exited). */
  signal(sig: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after `timeoutMs` (default 5_000); resolves with the exit code. Safe to call twice. */
  stop(timeoutMs?: number): Promise<number | null>;
  /** SIGKILL to the whole process group, simulating a crash; resolves once it has exited. */
  kill(): Promise<void>;
  /** Resolves when the process has exited and its output has been read. */
  readonly exited: Promise<ProcessExit>;
}

const POLL_INTERVAL_MS = 100;
/** After 'exit', how long to wait for the pipes to drain; a grandchild holding them open must not hang us. */
const DRAIN_GRACE_MS = 1_000;

/**
 * Spawns a child in its own process group, so that signals also reach grandchildren (tsx runs the
 * script in a second node process), and optionally waits until it serves `readyUrl`.
 */
export async function startProcess(options: StartProcessOptions): Promise<ProcessHandle> {
  const { name, command, args, env, cwd = repoRoot, readyUrl, readyTimeoutMs = 30_000 } = options;
  const buffer = new OutputBuffer(options.outputLines);
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  buffer.attach(child.stdout);
  buffer.attach(child.stderr);

  let exit: ProcessExit | undefined;
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      setTimeout(() => resolve({ code, signal }), DRAIN_GRACE_MS).unref();
    });
    child.once('close', (code, signal) => resolve(exit ?? { code, signal }));
  });

  // 'error' also fires for failed signals after start; keep a listener so it never becomes uncaught.
  const spawnError = await new Promise<Error | undefined>((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.on('error', resolve);
  });
  const pid = child.pid;
  if (spawnError || pid === undefined) {
    throw new Error(`startProcess(${name}): could not spawn ${command}: ${spawnError?.message ?? 'no pid'}`);
  }

  const signal = (sig: NodeJS.Signals): void => {
    if (exit) return;
    try {
      process.kill(-pid, sig);
    } catch {
      child.kill(sig);
    }
  };
  const unregister = onTestProcessExit(() => signal('SIGKILL'));
  void exited.then(unregister);

  const handle: ProcessHandle = {
    name,
    pid,
    output: () => buffer.text(),
    signal,
    exited,
    async stop(timeoutMs = 5_000) {
      if (!exit) {
        signal('SIGTERM');
        const stopped = await Promise.race([exited, delay(timeoutMs, undefined, { ref: false })]);
        if (!stopped) signal('SIGKILL');
      }
      return (await exited).code;
    },
    async kill() {
      signal('SIGKILL');
      await exited;
    },
  };

  if (readyUrl) await waitUntilReady(handle, readyUrl, readyTimeoutMs, () => exit);
  return handle;
}

async function waitUntilReady(
  handle: ProcessHandle,
  url: string,
  timeoutMs: number,
  getExit: () => ProcessExit | undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastAttempt = 'no attempt yet';
  for (;;) {
    if (getExit()) {
      const { code, signal } = await handle.exited;
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      throw new Error(withOutput(handle, `${how} before ${url} answered 200`));
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await res.body?.cancel();
      if (res.status === 200) return;
      lastAttempt = `status ${res.status}`;
    } catch (err) {
      lastAttempt = err instanceof Error ? String(err.cause ?? err.message) : String(err);
    }
    if (Date.now() >= deadline) {
      await handle.kill();
      throw new Error(
        withOutput(handle, `${url} did not answer 200 within ${timeoutMs} ms (last: ${lastAttempt})`),
      );
    }
    await Promise.race([delay(POLL_INTERVAL_MS), handle.exited]);
  }
}

function withOutput(handle: ProcessHandle, message: string): string {
  return `startProcess(${handle.name}): ${message}\n--- last output of ${handle.name} ---\n${handle.output()}`;
}
