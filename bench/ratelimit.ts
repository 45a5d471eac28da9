/**
 * `pnpm bench:ratelimit [--quick] [--scenario name[,name…]] [--scale X] [--no-write]`
 *
 * Measures how well Sluice turns a burst into a steady stream at the upstream's rate limit, against the
 * openai SDK called directly, and how fast high-tier requests overtake a backlog. Sends traffic only to
 * processes it starts on 127.0.0.1, stops by itself, prints a table and records it in docs/BENCHMARKS.md.
 * Scenarios and settings: bench/lib/config.ts. Method and columns: docs/BENCHMARKS.md.
 */
import { QUICK_SKIPS, SCENARIO_NAMES, type Scenario, scenarios } from './lib/config.js';
import { DOC_PATH, markdownSection, runInfo, textReport, writeDoc } from './lib/report.js';
import { type Row, runScenario } from './lib/runner.js';

const USAGE = `Usage: pnpm bench:ratelimit [options]

  --quick              smaller loads and fewer scenarios: a smoke run of about two minutes
  --scenario <names>   run only these scenarios (comma-separated; repeatable): ${SCENARIO_NAMES.join(', ')}
  --scale <x>          multiply load sizes and durations by x (default 1; total wall time scales with it)
  --no-write           print the results only; do not update docs/BENCHMARKS.md
  --help               this text
`;

interface Options {
  quick: boolean;
  write: boolean;
  scale: number;
  only: string[];
}

function parseArgs(argv: string[]): Options {
  const options: Options = { quick: false, write: true, scale: 1, only: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const [flag, inline] = arg.includes('=') ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') fail(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--quick':
        options.quick = true;
        break;
      case '--no-write':
        options.write = false;
        break;
      case '--scenario':
        options.only.push(
          ...value()
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
        );
        break;
      case '--scale': {
        const scale = Number(value());
        if (!(scale > 0 && scale <= 10)) fail('--scale must be a number in (0, 10]');
        options.scale = scale;
        break;
      }
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        process.exit(0);
        break;
      case '--':
        break;
      default:
        fail(`unknown argument '${arg}'`);
    }
  }
  const unknown = options.only.filter((name) => !SCENARIO_NAMES.includes(name));
  if (unknown.length) fail(`unknown scenario ${unknown.join(', ')}; known: ${SCENARIO_NAMES.join(', ')}`);
  return options;
}

function fail(message: string): never {
  process.stderr.write(`bench:ratelimit: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function commandLine(argv: string[]): string {
  const args = argv.length ? ` ${argv.join(' ')}` : '';
  return process.env.npm_lifecycle_event === 'bench:ratelimit'
    ? `pnpm bench:ratelimit${args}`
    : `node --import tsx bench/ratelimit.ts${args}`;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const options = parseArgs(argv);
  const all = scenarios({ scale: options.scale, quick: options.quick });
  const selected: Scenario[] = options.only.length
    ? all.filter((s) => options.only.includes(s.name))
    : all.filter((s) => !options.quick || !QUICK_SKIPS.includes(s.name));

  const info = runInfo(commandLine(argv));
  const started = performance.now();
  process.stderr.write(`[bench] running ${selected.map((s) => s.name).join(', ')}\n`);
  const rows: Row[] = [];
  for (const scenario of selected) rows.push(await runScenario(scenario));
  const done = { ...info, wallSeconds: (performance.now() - started) / 1000 };

  process.stdout.write(`\n${textReport(rows, done)}`);
  if (options.write) {
    writeDoc(markdownSection(rows, done));
    process.stdout.write(`Results written to ${DOC_PATH}\n`);
  }
  // Keep-alive sockets to the stopped servers must not keep the process up.
  process.exit(rows.some((r) => r.kind === 'error') ? 1 : 0);
}

main().catch((err) => {
  process.stderr.write(`bench:ratelimit failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
