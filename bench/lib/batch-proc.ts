/**
 * Linux /proc readings for `pnpm bench:batch`: which process really serves a port, its resident memory
 * (VmRSS now, VmHWM = the kernel's own peak), and its CPU time. Everything degrades to "unknown" where
 * /proc is not available.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

const CLOCK_TICKS = 100;

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The command line of a process, e.g. `node --import tsx apps/api/src/main.ts`. */
export function commandOf(pid: number): string {
  return (read(`/proc/${pid}/cmdline`) ?? '').split('\0').filter(Boolean).join(' ') || `pid ${pid}`;
}

/** Inodes of the sockets listening on `port` (IPv4 and IPv6). */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of (read(table) ?? '').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // cols: sl, local_address, rem_address, st, tx:rx, tr:when, retrnsmt, uid, timeout, inode
      if (cols[3] === '0A' && cols[1]?.endsWith(`:${hexPort}`) && cols[9]) inodes.add(cols[9]);
    }
  }
  return inodes;
}

function holdsSocket(pid: number, inodes: Set<string>): boolean {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m?.[1] && inodes.has(m[1])) return true;
    } catch {
      // closed meanwhile
    }
  }
  return false;
}

/** `pid` and all its descendants, parents first. */
export function descendants(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const p = out[i] as number;
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const t of tasks) {
      for (const c of (read(`/proc/${p}/task/${t}/children`) ?? '').split(/\s+/).filter(Boolean)) {
        out.push(Number(c));
      }
    }
  }
  return out;
}

/**
 * The process that holds the listening socket of `port`, looked for among `spawned` and its descendants
 * (a launcher such as the tsx CLI would run the app in a child; `node --import tsx` runs it in-process).
 * Falls back to the deepest descendant when /proc cannot tell.
 */
export function resolveServingPid(spawned: number, port: number): { pid: number; how: string } {
  const family = descendants(spawned);
  const inodes = listeningInodes(port);
  const serving = family.find((pid) => holdsSocket(pid, inodes));
  const pid = serving ?? family.at(-1) ?? spawned;
  const relation = pid === spawned ? 'the spawned process itself' : `a descendant of spawned pid ${spawned}`;
  const proof = serving ? `listens on :${port}` : `could not confirm the listener of :${port}`;
  return { pid, how: `pid ${pid} (${commandOf(pid)}), ${relation}, ${proof}` };
}

/** The process listening on `port` anywhere on the machine (scans /proc; undefined if none is found). */
export function pidListeningOn(port: number): number | undefined {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return undefined;
  let pids: string[] = [];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return undefined;
  }
  for (const p of pids) if (holdsSocket(Number(p), inodes)) return Number(p);
  return undefined;
}

export interface Memory {
  /** Resident set size now, bytes. */
  rss: number;
  /** Peak resident set size since the process started (VmHWM), bytes. */
  hwm: number;
}

/** VmRSS and VmHWM of `pid`, or undefined once it has exited. */
export function memoryOf(pid: number): Memory | undefined {
  const status = read(`/proc/${pid}/status`);
  if (!status) return undefined;
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  const rss = kb('VmRSS');
  const hwm = kb('VmHWM');
  if (!Number.isFinite(rss)) return undefined;
  return { rss: rss * 1024, hwm: (Number.isFinite(hwm) ? hwm : rss) * 1024 };
}

/** CPU seconds (user + system) `pid` has used so far, or undefined. */
export function cpuSecondsOf(pid: number): number | undefined {
  const stat = read(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  // The command name may hold spaces and parentheses: fields start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isFinite(utime + stime) ? (utime + stime) / CLOCK_TICKS : undefined;
}

/**
 * Seconds the main thread of `pid` has spent runnable but waiting for a CPU (the second field of
 * /proc/<pid>/schedstat, in ns), or undefined. On a shared machine this tells "slow" from "starved of CPU".
 */
export function runDelaySecondsOf(pid: number): number | undefined {
  const v = Number(read(`/proc/${pid}/schedstat`)?.split(' ')[1]);
  return Number.isFinite(v) ? v / 1e9 : undefined;
}

/** Peak of the RSS samples of one process over a phase, and its VmHWM at the phase's end. */
export interface PhaseMemory {
  /** RSS when the phase began, bytes. */
  start?: number;
  /** Highest RSS sampled during the phase (every `intervalMs`), bytes. */
  sampledPeak?: number;
  /** RSS when the phase ended, bytes. */
  end?: number;
  /** VmHWM at the phase's end: the kernel's peak since the process started (catches spikes between samples). */
  hwm?: number;
  samples: number;
}

/**
 * Samples the VmRSS of a few processes every `intervalMs` and keeps, per named phase, the start, the
 * sampled peak, the end and the VmHWM at the end. Phases may overlap (e.g. "upload+enqueue" and "drain").
 */
export class RssSampler {
  private timer: NodeJS.Timeout | undefined;
  private readonly open = new Map<string, Map<string, PhaseMemory>>();
  readonly phases = new Map<string, Map<string, PhaseMemory>>();

  constructor(
    private readonly pids: Record<string, number>,
    private readonly intervalMs = 100,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    for (const name of [...this.open.keys()]) this.end(name);
  }

  begin(phase: string): void {
    const perProcess = new Map<string, PhaseMemory>();
    for (const [name, pid] of Object.entries(this.pids)) {
      const m = memoryOf(pid);
      perProcess.set(name, { start: m?.rss, sampledPeak: m?.rss, samples: m ? 1 : 0 });
    }
    this.open.set(phase, perProcess);
  }

  end(phase: string): void {
    const perProcess = this.open.get(phase);
    if (!perProcess) return;
    this.sample();
    for (const [name, pid] of Object.entries(this.pids)) {
      const m = memoryOf(pid);
      const entry = perProcess.get(name);
      if (entry && m) {
        entry.end = m.rss;
        entry.hwm = m.hwm;
      }
    }
    this.open.delete(phase);
    this.phases.set(phase, perProcess);
  }

  private sample(): void {
    if (this.open.size === 0) return;
    for (const [name, pid] of Object.entries(this.pids)) {
      const m = memoryOf(pid);
      if (!m) continue;
      for (const perProcess of this.open.values()) {
        const entry = perProcess.get(name);
        if (!entry) continue;
        entry.samples++;
        entry.sampledPeak = Math.max(entry.sampledPeak ?? 0, m.rss);
      }
    }
  }
}

interface CpuMark {
  at: number;
  cpu: Record<string, number | undefined>;
  waited: Record<string, number | undefined>;
}

/** Per process between two marks: CPU used and main-thread run-queue wait, each ÷ wall time. */
export interface CpuShare {
  /** CPU seconds (all threads) ÷ wall seconds; 1.0 = one full core. */
  cpu: number;
  /** Seconds the main thread was runnable but not running ÷ wall seconds. */
  waited?: number;
}

/** CPU time and run-queue wait of several processes between named marks. */
export class CpuMeter {
  private readonly marks = new Map<string, CpuMark>();

  constructor(private readonly pids: Record<string, number>) {}

  mark(name: string): void {
    const cpu: Record<string, number | undefined> = {};
    const waited: Record<string, number | undefined> = {};
    for (const [k, pid] of Object.entries(this.pids)) {
      cpu[k] = cpuSecondsOf(pid);
      waited[k] = runDelaySecondsOf(pid);
    }
    this.marks.set(name, { at: performance.now(), cpu, waited });
  }

  between(from: string, to: string): Record<string, CpuShare> {
    const a = this.marks.get(from);
    const b = this.marks.get(to);
    const out: Record<string, CpuShare> = {};
    if (!a || !b || b.at <= a.at) return out;
    const wall = (b.at - a.at) / 1000;
    for (const k of Object.keys(this.pids)) {
      const x = a.cpu[k];
      const y = b.cpu[k];
      if (x === undefined || y === undefined) continue;
      const wx = a.waited[k];
      const wy = b.waited[k];
      out[k] = {
        cpu: (y - x) / wall,
        ...(wx !== undefined && wy !== undefined && { waited: (wy - wx) / wall }),
      };
    }
    return out;
  }
}
