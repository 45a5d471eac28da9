/**
 * The command line every `pnpm bench:NAME` program shares: flag parsing with `--flag value` and
 * `--flag=value`, `--quick`, `--no-write`, `--help`, usage errors (exit 2), the whole-run time limit,
 * and printing the report / writing its docs/BENCHMARKS.md section.
 */
import { DOC_PATH, type RunInfo, runInfo, writeDoc } from './output.js';

/** A benchmark program: `name` as in `pnpm bench:NAME` and bench/NAME.ts, and its --help text. */
export interface Program {
  name: string;
  usage: string;
}

/** `flags`: the program's own lines of --help, one `  --flag …` a line; the common ones follow them. */
export function program(name: string, flags: string): Program {
  return {
    name,
    usage: `Usage: pnpm bench:${name} [options]

${flags}  --no-write           print the results only; do not update docs/BENCHMARKS.md
  --help               this text
`,
  };
}

export interface CommonOptions {
  quick: boolean;
  /** False with --no-write: print only, leave docs/BENCHMARKS.md alone. */
  write: boolean;
}

/** Handles one program-specific flag; `value()` reads its value (inline after `=` or the next argument). */
export type FlagHandler = (value: () => string, flag: string) => void;

export function fail(program: Program, message: string): never {
  process.stderr.write(`bench:${program.name}: ${message}\n\n${program.usage}`);
  process.exit(2);
}

/**
 * Parses `argv` into `options`: the common flags here, every other flag by its handler in `flags`;
 * an unknown one is a usage error.
 */
export function parseFlags(
  program: Program,
  argv: string[],
  options: CommonOptions,
  flags: Record<string, FlagHandler>,
): void {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const [flag = '', inline] = arg.includes('=') ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') fail(program, `${flag} needs a value`);
      return v;
    };
    const handler = Object.hasOwn(flags, flag) ? flags[flag] : undefined;
    if (handler) {
      handler(value, flag);
      continue;
    }
    switch (flag) {
      case '--quick':
        options.quick = true;
        break;
      case '--no-write':
        options.write = false;
        break;
      case '--help':
      case '-h':
        process.stdout.write(program.usage);
        process.exit(0);
        break;
      case '--':
        break;
      default:
        fail(program, `unknown argument '${arg}'`);
    }
  }
}

/** A flag's value as an integer in min..max, or a usage error. */
export function integerFlag(program: Program, flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!(Number.isInteger(n) && n >= min && n <= max))
    fail(program, `${flag} must be an integer in ${min}..${max}`);
  return n;
}

/** How the run was started, for the report. */
function commandLine(program: Program, argv: string[]): string {
  const args = argv.length ? ` ${argv.join(' ')}` : '';
  return process.env.npm_lifecycle_event === `bench:${program.name}`
    ? `pnpm bench:${program.name}${args}`
    : `node --import tsx bench/${program.name}.ts${args}`;
}

/** Takes the run's metadata now; the function returned adds the wall time since then. */
export function startRun(program: Program, argv: string[]): () => RunInfo {
  const info = runInfo(commandLine(program, argv));
  const started = performance.now();
  return () => ({ ...info, wallSeconds: (performance.now() - started) / 1000 });
}

/** The last line of defence: whatever hangs, the run ends (the testkit kills the children on exit). */
export function limitRun(seconds: number): void {
  setTimeout(() => {
    process.stderr.write(`[bench] the whole run exceeded its ${seconds} s limit; stopping\n`);
    process.exit(1);
  }, seconds * 1000).unref();
}

/** Prints the report; unless --no-write, replaces the program's section of docs/BENCHMARKS.md too. */
export function publish(program: Program, options: CommonOptions, text: string, section: () => string): void {
  process.stdout.write(`\n${text}`);
  if (options.write) {
    writeDoc(program.name, section());
    process.stdout.write(`Results written to ${DOC_PATH}\n`);
  }
}

/**
 * Runs `main` and exits with the code it returns (keep-alive sockets to the stopped servers must not
 * keep the process up); a throw is reported and exits 1.
 */
export function runMain(program: Program, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(
        `bench:${program.name} failed: ${err instanceof Error ? err.stack : String(err)}\n`,
      );
      process.exit(1);
    },
  );
}
