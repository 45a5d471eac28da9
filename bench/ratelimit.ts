/**
 * `pnpm bench:ratelimit [--quick] [--scenario name[,name…]] [--scale X] [--no-write]`
 *
 * Measures how well Sluice turns a burst into a steady stream at the upstream's rate limit, against the
 * openai SDK called directly, and how fast high-tier requests overtake a backlog. Sends traffic only to
 * processes it starts on 127.0.0.1, stops by itself, prints a table and records it in docs/BENCHMARKS.md.
 * Scenarios and settings: bench/lib/config.ts. Method and columns: docs/BENCHMARKS.md.
 */
import { type CommonOptions, fail, parseFlags, program, publish, runMain, startRun } from './lib/cli.js';
import { QUICK_SKIPS, SCENARIO_NAMES, type Scenario, scenarios } from './lib/config.js';
import { markdownSection, textReport } from './lib/report.js';
import { type Row, runScenario } from './lib/runner.js';

const PROGRAM = program(
  'ratelimit',
  `  --quick              smaller loads and fewer scenarios: a smoke run of about two minutes
  --scenario <names>   run only these scenarios (comma-separated; repeatable): ${SCENARIO_NAMES.join(', ')}
  --scale <x>          multiply load sizes and durations by x (default 1; total wall time scales with it)
`,
);

interface Options extends CommonOptions {
  scale: number;
  only: string[];
}

function parseArgs(argv: string[]): Options {
  const options: Options = { quick: false, write: true, scale: 1, only: [] };
  parseFlags(PROGRAM, argv, options, {
    '--scenario': (value) => {
      options.only.push(
        ...value()
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      );
    },
    '--scale': (value) => {
      const scale = Number(value());
      if (!(scale > 0 && scale <= 10)) fail(PROGRAM, '--scale must be a number in (0, 10]');
      options.scale = scale;
    },
  });
  const unknown = options.only.filter((name) => !SCENARIO_NAMES.includes(name));
  if (unknown.length)
    fail(PROGRAM, `unknown scenario ${unknown.join(', ')}; known: ${SCENARIO_NAMES.join(', ')}`);
  return options;
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const options = parseArgs(argv);
  const all = scenarios({ scale: options.scale, quick: options.quick });
  const selected: Scenario[] = options.only.length
    ? all.filter((s) => options.only.includes(s.name))
    : all.filter((s) => !options.quick || !QUICK_SKIPS.includes(s.name));

  const info = startRun(PROGRAM, argv);
  process.stderr.write(`[bench] running ${selected.map((s) => s.name).join(', ')}\n`);
  const rows: Row[] = [];
  for (const scenario of selected) rows.push(await runScenario(scenario));
  const done = info();

  publish(PROGRAM, options, textReport(rows, done), () => markdownSection(rows, done));
  return rows.some((r) => r.kind === 'error') ? 1 : 0;
}

runMain(PROGRAM, main);
