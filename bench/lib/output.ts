/**
 * What every benchmark's report shares: plain and Markdown tables, the run's metadata, and writing the
 * benchmark's own section of docs/BENCHMARKS.md between its `<!-- bench:NAME:start/end -->` markers.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@sluice/testkit';

// ---------------------------------------------------------------- tables

export interface Table {
  headers: string[];
  rows: string[][];
  /** Columns to right-align (numbers). */
  right?: number[];
}

export function plainTable({ headers, rows, right = [] }: Table): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (right.includes(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function markdownTable({ headers, rows, right = [] }: Table): string {
  const esc = (c: string) => c.replaceAll('|', '\\|');
  return [
    `| ${headers.map(esc).join(' | ')} |`,
    `| ${headers.map((_, i) => (right.includes(i) ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

// ---------------------------------------------------------------- run metadata

export interface RunInfo {
  command: string;
  date: string;
  commit: string;
  machine: string;
  node: string;
  loadBefore: string;
  /** Set by the benchmarks that report the load average after the run too. */
  loadAfter?: string;
  wallSeconds: number;
}

function git(args: string[]): string | undefined {
  try {
    return execFileSync('git', args, {
      cwd: repoRoot,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

export const loadAverage = (): string =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

export function runInfo(command: string): Omit<RunInfo, 'wallSeconds'> {
  const cpus = os.cpus();
  const commit = git(['rev-parse', '--short=12', 'HEAD']) ?? 'unknown';
  const dirty = git(['status', '--porcelain']);
  const stat = git(['diff', 'HEAD', '--shortstat']);
  return {
    command,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    commit: dirty ? `${commit} + uncommitted changes (${stat || 'untracked files only'})` : commit,
    machine: `${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    loadBefore: loadAverage(),
  };
}

/**
 * How a report words the machine and load (`machine`, replacing the default one line) and what it adds
 * after the wall time (`extra`).
 */
export interface InfoLines {
  machine?: string[];
  extra?: string[];
}

const after = (i: RunInfo) => (i.loadAfter === undefined ? '' : `, after: ${i.loadAfter}`);

/** How a report is written: for the terminal (asText) or for docs/BENCHMARKS.md (asMarkdown). */
export interface Format {
  /** The run's metadata: command, date and commit, machine and load, wall time. */
  info(i: RunInfo, lines?: InfoLines): string[];
  /** A titled table, then a blank line. */
  table(title: string, table: Table): string[];
  /** A titled bullet list, then a blank line. */
  list(title: string, items: string[]): string[];
}

const bullets = (items: string[]) => items.map((n) => `- ${n}`);

export const asText: Format = {
  info: (i, { machine, extra = [] } = {}) => [
    `Command: ${i.command}`,
    `Date: ${i.date}   Commit: ${i.commit}`,
    ...(machine ?? [
      `Machine: ${i.machine}, Node ${i.node}, load average before: ${i.loadBefore}${after(i)}`,
    ]),
    `Wall time: ${i.wallSeconds.toFixed(0)} s`,
    ...extra,
  ],
  table: (title, table) => [title, plainTable(table), ''],
  list: (title, items) => [title, ...bullets(items), ''],
};

export const asMarkdown: Format = {
  info: (i, { machine, extra = [] } = {}) =>
    bullets([
      `Command: \`${i.command}\``,
      `Date: ${i.date}`,
      `Commit: ${i.commit}`,
      ...(machine ?? [
        `Machine: ${i.machine}; Node ${i.node}; load average before the run: ${i.loadBefore}${after(i)}`,
      ]),
      `Wall time: ${i.wallSeconds.toFixed(0)} s`,
      ...extra,
    ]),
  table: (title, table) => [`${title}:`, '', markdownTable(table), ''],
  list: (title, items) => [`${title}:`, '', ...bullets(items), ''],
};

// ---------------------------------------------------------------- docs/BENCHMARKS.md

export const DOC_PATH = join(repoRoot, 'docs', 'BENCHMARKS.md');

const FILE_HEADER = `# Benchmarks

Each benchmark lives in \`bench/\` and rewrites only its own section of this file, between its marker
comments; sections of other benchmarks are left alone.
`;

const markers = (name: string) => ({
  start: `<!-- bench:${name}:start -->`,
  end: `<!-- bench:${name}:end -->`,
});

/**
 * Benchmark `name`'s section: its method text, `### Results` with the run's metadata (`info`, from
 * asMarkdown.info), then `body`, between its markers.
 */
export function docSection(name: string, method: string, info: string[], body: string[]): string {
  const { start, end } = markers(name);
  return [start, method, '### Results', '', ...info, '', ...body, end].join('\n');
}

/** Replaces benchmark `name`'s section of docs/BENCHMARKS.md (or appends it), keeping everything else. */
export function writeDoc(name: string, section: string, path = DOC_PATH): void {
  const { start: START, end: END } = markers(name);
  const existing = existsSync(path) ? readFileSync(path, 'utf8') : FILE_HEADER;
  const start = existing.indexOf(START);
  const end = existing.indexOf(END);
  const next =
    start !== -1 && end > start
      ? existing.slice(0, start) + section + existing.slice(end + END.length)
      : `${existing.trimEnd()}\n\n${section}\n`;
  writeFileSync(path, next);
}
