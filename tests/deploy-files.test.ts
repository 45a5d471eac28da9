/**
 * The deployment files (infra/docker/Dockerfile, docker-compose.yml, .dockerignore) checked against
 * the repository without Docker: a renamed entry point, a new workspace package, a pnpm upgrade or an
 * env variable the apps do not read makes this file fail with a message that says what drifted.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { apiEnvSchema, loadApiConfig } from '@sluice/api';
import { loadWorkerConfig, workerEnvSchema } from '@sluice/worker';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

const root = fileURLToPath(new URL('..', import.meta.url));
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const exists = (path: string) => existsSync(join(root, path));

const DOCKERFILE = 'infra/docker/Dockerfile';
const COMPOSE = 'docker-compose.yml';

/** Final image targets, the app each one runs, and the root script that runs the same entry point. */
const TARGETS = {
  api: { dir: 'apps/api', script: 'start:api' },
  worker: { dir: 'apps/worker', script: 'start:worker' },
  sim: { dir: 'apps/upstream-sim', script: 'start:sim' },
} as const;
type Target = keyof typeof TARGETS;
const targetNames = Object.keys(TARGETS) as Target[];

// ---------------------------------------------------------------------------------------------------
// YAML, read with the `yaml` package (a full YAML 1.2 parser, so formatter changes cannot break it).

type Yaml = string | number | boolean | null | Yaml[] | { [key: string]: Yaml };
type YamlMap = { [key: string]: Yaml };

function parseYamlFile(source: string, file: string): YamlMap {
  const doc = parseYaml(source) as Yaml;
  return asMap(doc, file);
}

function asMap(value: Yaml | undefined, where: string): YamlMap {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`${where} should be a mapping, got ${JSON.stringify(value)}`);
  }
  return value;
}

function asList(value: Yaml | undefined, where: string): Yaml[] {
  if (!Array.isArray(value)) throw new Error(`${where} should be a list, got ${JSON.stringify(value)}`);
  return value;
}

// ---------------------------------------------------------------------------------------------------
// Dockerfile reader: continuation lines joined, comments dropped, instructions grouped by stage.

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  name: string;
  from: string;
  body: Instruction[];
}

function parseDockerfile(source: string): Stage[] {
  const stages: Stage[] = [];
  let pending = '';
  for (const raw of source.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    pending = pending ? `${pending} ${line}` : line;
    if (pending.endsWith('\\')) {
      pending = pending.slice(0, -1).trimEnd();
      continue;
    }
    const m = /^(\S+)\s*(.*)$/.exec(pending);
    pending = '';
    if (!m?.[1]) continue;
    const keyword = m[1].toUpperCase();
    const args = m[2] ?? '';
    if (keyword === 'FROM') {
      const from = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!from?.[1]) throw new Error(`${DOCKERFILE}: cannot read "FROM ${args}"`);
      stages.push({ name: from[2] ?? `#${stages.length}`, from: from[1], body: [] });
    } else {
      const stage = stages.at(-1);
      if (!stage) throw new Error(`${DOCKERFILE}: ${keyword} before the first FROM`);
      stage.body.push({ keyword, args });
    }
  }
  return stages;
}

/** Exec-form (JSON) arguments of CMD/ENTRYPOINT/HEALTHCHECK CMD, or undefined for the shell form. */
function execForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  const parsed: unknown = JSON.parse(args);
  return Array.isArray(parsed) && parsed.every((a) => typeof a === 'string') ? parsed : undefined;
}

/** COPY flags, sources and destination (shell or JSON form). */
function copyParts(args: string) {
  const tokens = args.split(/\s+/);
  const flags = tokens.filter((t) => t.startsWith('--'));
  const rest = tokens.filter((t) => !t.startsWith('--'));
  const paths = rest[0]?.startsWith('[') ? (execForm(rest.join(' ')) ?? []) : rest;
  return { flags, sources: paths.slice(0, -1), dest: paths.at(-1) ?? '' };
}

function envPairs(args: string): Record<string, string> {
  const out: Record<string, string> = {};
  const legacy = /^([A-Za-z_][A-Za-z0-9_]*)\s+([^=]*)$/.exec(args);
  if (legacy?.[1]) out[legacy[1]] = legacy[2] ?? '';
  for (const m of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)) {
    if (m[1]) out[m[1]] = (m[2] ?? '').replace(/^"(.*)"$/, '$1');
  }
  return out;
}

const dockerfile = parseDockerfile(read(DOCKERFILE));
const stageByName = new Map(dockerfile.map((s) => [s.name, s]));

/** A stage's instructions with those of the stages it is built FROM first (what the image inherits). */
function inherited(name: string): Instruction[] {
  const stage = stageByName.get(name);
  if (!stage) throw new Error(`${DOCKERFILE} has no stage "${name}"`);
  return [...(stageByName.has(stage.from) ? inherited(stage.from) : []), ...stage.body];
}
const lastOf = (name: string, keyword: string) => inherited(name).findLast((i) => i.keyword === keyword);
const inheritedEnv = (name: string) =>
  Object.assign({}, ...inherited(name).flatMap((i) => (i.keyword === 'ENV' ? [envPairs(i.args)] : [])));

const copies = dockerfile.flatMap((stage) =>
  stage.body.filter((i) => i.keyword === 'COPY').map((i) => ({ stage: stage.name, ...copyParts(i.args) })),
);
const contextCopies = copies.filter((c) => !c.flags.some((f) => f.startsWith('--from=')));

// ---------------------------------------------------------------------------------------------------
// Repository facts the files must agree with.

const rootManifest = JSON.parse(read('package.json')) as {
  packageManager?: string;
  scripts?: Record<string, string>;
  devDependencies?: Record<string, string>;
  dependencies?: Record<string, string>;
};

/** Workspace package folders, from pnpm-workspace.yaml's `dir/*` globs. */
function workspaceDirs(): string[] {
  const globs = asList(
    parseYamlFile(read('pnpm-workspace.yaml'), 'pnpm-workspace.yaml').packages,
    'packages',
  );
  return globs.flatMap((glob) => {
    const m = /^([\w.-]+)\/\*$/.exec(String(glob));
    if (!m?.[1]) throw new Error(`pnpm-workspace.yaml: this test only expands "dir/*" globs, not "${glob}"`);
    const parent = m[1];
    return readdirSync(join(root, parent), { withFileTypes: true })
      .filter((d) => d.isDirectory() && exists(`${parent}/${d.name}/package.json`))
      .map((d) => `${parent}/${d.name}`);
  });
}

/** Importers of pnpm-lock.yaml other than the root (`importers:` keys at two spaces). */
function lockfileImporters(): string[] {
  const out: string[] = [];
  let inImporters = false;
  for (const line of read('pnpm-lock.yaml').split('\n')) {
    if (/^\S/.test(line)) inImporters = line.startsWith('importers:');
    const m = inImporters ? /^ {2}([^\s:][^:]*):\s*$/.exec(line) : null;
    if (m?.[1] && m[1] !== '.') out.push(m[1].replace(/^'(.*)'$/, '$1'));
  }
  return out;
}

/** .dockerignore semantics: a path is excluded when it or a parent folder matches; last match wins. */
function isDockerIgnored(path: string): boolean {
  const patterns = read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const toRegExp = (glob: string) =>
    new RegExp(
      `^${glob
        .replace(/^\/+|\/+$/g, '')
        .split(/(\*\*\/|\*\*|\*|\?)/)
        .map((part) =>
          part === '**/'
            ? '(?:.*/)?'
            : part === '**'
              ? '.*'
              : part === '*'
                ? '[^/]*'
                : part === '?'
                  ? '[^/]'
                  : part.replace(/[.+^${}()|[\]\\]/g, '\\$&'),
        )
        .join('')}$`,
    );
  const segments = path.replace(/^\.\//, '').replace(/\/+$/, '').split('/');
  const prefixes = segments.map((_, i) => segments.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const pattern of patterns) {
    const negated = pattern.startsWith('!');
    const re = toRegExp(negated ? pattern.slice(1) : pattern);
    if (prefixes.some((p) => re.test(p))) ignored = !negated;
  }
  return ignored;
}

// ---------------------------------------------------------------------------------------------------
// docker-compose.yml

const composeText = read(COMPOSE);
const compose = parseYamlFile(composeText, COMPOSE);
const services = asMap(compose.services, 'services');
const service = (name: string) => asMap(services[name], `services.${name}`);

/** `environment` as a map (either compose form). */
function serviceEnv(name: string): Record<string, string> {
  const env = service(name).environment;
  if (env === undefined || env === null) return {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const [key = '', ...value] = String(entry).split('=');
        return [key, value.join('=')];
      }),
    );
  }
  return Object.fromEntries(
    Object.entries(asMap(env, `services.${name}.environment`)).map(([k, v]) => [
      k,
      v === null ? '' : String(v),
    ]),
  );
}

/** Required `${VAR:?…}` values used to check that compose's env is valid config. */
const SAMPLE_REQUIRED: Record<string, string> = { ADMIN_TOKEN: 'compose-test-admin-token-0123456789' };

/** Compose interpolation with an empty shell environment: defaults apply, required ones get a sample. */
function interpolate(value: string, where: string): string {
  const out = value.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$\$/g,
    (whole, name: string | undefined, op: string | undefined, arg: string | undefined) => {
      if (whole === '$$') return '$';
      if (op?.endsWith('-')) return arg ?? '';
      if (op?.endsWith('?')) return SAMPLE_REQUIRED[name ?? ''] ?? 'sample-value-for-a-required-variable';
      return '';
    },
  );
  if (/\$[{A-Za-z_]/.test(out)) throw new Error(`${where}: cannot interpolate "${value}"`);
  return out;
}

const resolvedEnv = (name: string) =>
  Object.fromEntries(
    Object.entries(serviceEnv(name)).map(([k, v]) => [
      k,
      interpolate(v, `services.${name}.environment.${k}`),
    ]),
  );

/** Compose durations ("45s", "1m30s", "500ms") in ms. */
function durationMs(value: Yaml | undefined, where: string): number {
  const text = String(value ?? '');
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== text)
    throw new Error(`${where}: bad duration "${text}"`);
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;
  return parts.reduce((sum, p) => sum + Number(p[1]) * unit[p[2] as keyof typeof unit], 0);
}

/** Container ports a service publishes ("8080:8080", "127.0.0.1:8080:8080/tcp"). */
const containerPorts = (name: string) =>
  asList(service(name).ports ?? [], `services.${name}.ports`).map((p) =>
    Number(String(p).split('/')[0]?.split(':').at(-1)),
  );

// ---------------------------------------------------------------------------------------------------

describe(`${DOCKERFILE}`, () => {
  it('builds on node:24 images only, with the pnpm of package.json#packageManager', () => {
    for (const stage of dockerfile) {
      if (stageByName.has(stage.from)) continue;
      expect(stage.from, `stage ${stage.name} is FROM an external image`).toMatch(/^node:24(-slim)?$/);
    }
    const pinned = /^pnpm@(\d+\.\d+\.\d+)/.exec(rootManifest.packageManager ?? '')?.[1];
    expect(pinned, 'package.json#packageManager pins pnpm').toBeDefined();
    const installs = dockerfile.flatMap((s) => s.body).filter((i) => /npm (i|install) -g pnpm@/.test(i.args));
    expect(installs.length, 'the Dockerfile installs pnpm with npm -g').toBe(1);
    expect(installs[0]?.args, 'Dockerfile pnpm version = packageManager').toContain(`pnpm@${pinned}`);
  });

  it('has the deps and runtime stages and one final stage per app', () => {
    for (const name of ['deps', 'runtime', ...targetNames]) {
      expect(stageByName.has(name), `FROM … AS ${name} in ${DOCKERFILE}`).toBe(true);
    }
  });

  it('copies only manifests in deps, and every workspace package manifest, then installs frozen', () => {
    const deps = copies.filter((c) => c.stage === 'deps');
    for (const copy of deps) {
      for (const source of copy.sources) {
        expect(exists(source), `COPY source ${source} exists`).toBe(true);
        expect(
          ['package.json', 'pnpm-lock.yaml', 'pnpm-workspace.yaml', '.npmrc'].includes(source) ||
            source.endsWith('/package.json'),
          `deps stage copies only manifests, not ${source}`,
        ).toBe(true);
      }
    }
    const copied = new Set(deps.flatMap((c) => c.sources));
    for (const file of ['package.json', 'pnpm-lock.yaml', 'pnpm-workspace.yaml']) {
      expect(copied.has(file), `deps stage copies ${file}`).toBe(true);
    }

    const packages = workspaceDirs();
    expect(lockfileImporters().sort(), 'pnpm-lock.yaml importers = workspace packages').toEqual(
      [...packages].sort(),
    );
    for (const dir of packages) {
      const copy = deps.find((c) => c.sources.includes(`${dir}/package.json`));
      expect(
        copy,
        `deps stage needs "COPY ${dir}/package.json ${dir}/" (else --frozen-lockfile fails)`,
      ).toBeDefined();
      expect(copy?.dest.replace(/^\.\//, '').replace(/\/?$/, '/'), `destination of ${dir}/package.json`).toBe(
        `${dir}/`,
      );
    }

    const install = stageByName
      .get('deps')
      ?.body.find((i) => i.keyword === 'RUN' && /pnpm install/.test(i.args));
    expect(install?.args).toMatch(/--frozen-lockfile/);
    expect(install?.args, 'tsx is a devDependency and runs the apps').toMatch(/--prod=false/);
    expect(install?.args, 'pnpm store in a cache mount').toMatch(/--mount=type=cache\b/);
  });

  it('copies /app from deps before the sources in runtime, and every source exists and is not ignored', () => {
    const runtime = stageByName.get('runtime')?.body ?? [];
    const fromDeps = runtime.findIndex(
      (i) => i.keyword === 'COPY' && /--from=deps\s+\/app\s+\/app\/?$/.test(i.args),
    );
    expect(fromDeps, 'runtime has "COPY --from=deps /app /app" (keeps pnpm symlinks)').toBeGreaterThanOrEqual(
      0,
    );
    runtime.forEach((instruction, index) => {
      if (instruction.keyword === 'COPY' && !instruction.args.includes('--from=')) {
        expect(index, `"COPY ${instruction.args}" comes after the copy from deps`).toBeGreaterThan(fromDeps);
      }
    });
    for (const copy of contextCopies) {
      for (const source of copy.sources) {
        expect(exists(source), `COPY source ${source} (stage ${copy.stage}) exists`).toBe(true);
        expect(isDockerIgnored(source), `.dockerignore must not exclude COPY source ${source}`).toBe(false);
      }
    }
  });

  it.each(targetNames)(
    '%s: runs its main.ts with node as PID 1, as user node, with a /healthz check',
    (target) => {
      const { dir, script } = TARGETS[target];
      const cmdArgs = lastOf(target, 'CMD')?.args ?? '';
      const cmd = execForm(cmdArgs);
      expect(cmd, `${target}: CMD in exec (JSON) form, so node gets SIGTERM directly`).toBeDefined();
      const entry = cmd?.at(-1) ?? '';
      expect(entry, `${target}: CMD runs the app's entry point`).toBe(`${dir}/src/main.ts`);
      expect(exists(entry), `${entry} exists`).toBe(true);
      expect(isDockerIgnored(entry), `.dockerignore must not exclude ${entry}`).toBe(false);
      expect(rootManifest.scripts?.[script], `package.json script ${script} runs the same file`).toMatch(
        new RegExp(`\\b${entry.replaceAll('.', '\\.')}$`),
      );
      expect(cmd?.[0], `${target}: node itself is PID 1 (the tsx CLI would relay signals to a child)`).toBe(
        'node',
      );
      if (cmd?.includes('--import')) {
        const loader = cmd[cmd.indexOf('--import') + 1] ?? '';
        expect(
          createRequire(join(root, 'package.json')).resolve(loader),
          `${loader} resolves from /app`,
        ).toBeTruthy();
        expect(
          { ...rootManifest.dependencies, ...rootManifest.devDependencies }[loader],
          `${loader} is a root dependency`,
        ).toBeDefined();
      }

      expect(lastOf(target, 'USER')?.args, `${target} runs as the non-root node user`).toBe('node');
      expect(lastOf(target, 'STOPSIGNAL')?.args).toBe('SIGTERM');
      const env = inheritedEnv(target);
      expect(env.NODE_ENV).toBe('production');
      expect(env.HOST, `${target} listens on all interfaces in a container`).toBe('0.0.0.0');
      expect(lastOf(target, 'EXPOSE')?.args, `${target}: EXPOSE = ENV PORT`).toBe(env.PORT);

      const health = lastOf(target, 'HEALTHCHECK')?.args ?? '';
      expect(health, `${target} has a HEALTHCHECK on /healthz`).toContain('/healthz');
      expect(
        execForm(health.replace(/^(?:--\S+\s+)*CMD\s+/, ''))?.[0],
        'HEALTHCHECK CMD in exec (JSON) form, run by node',
      ).toBe('node');
      expect(health, 'the HEALTHCHECK follows the PORT the app listens on').toContain('process.env.PORT');
      expect(health, 'slim images have no curl or wget').not.toMatch(/\b(curl|wget)\b/);
    },
  );
});

describe('.dockerignore', () => {
  it('keeps local node_modules (any depth), .git and secrets out of the build context', () => {
    for (const path of [
      'node_modules',
      'apps/api/node_modules',
      'packages/core/node_modules/x',
      '.git',
      '.env',
    ]) {
      expect(isDockerIgnored(path), `${path} is ignored`).toBe(true);
    }
  });
});

describe(`${COMPOSE}`, () => {
  it('runs a durable Redis >= 7 that BullMQ can use', () => {
    const redis = service('redis');
    expect(
      Number(/^redis:(\d+)/.exec(String(redis.image))?.[1]),
      'redis image major version',
    ).toBeGreaterThanOrEqual(7);
    const command = asList(redis.command, 'services.redis.command').map(String).join(' ');
    expect(command).toMatch(/--appendonly yes\b/);
    expect(command).toMatch(/--appendfsync everysec\b/);
    expect(command, 'BullMQ requires maxmemory-policy noeviction').toMatch(/--maxmemory-policy noeviction\b/);
    const volumes = asList(redis.volumes, 'services.redis.volumes').map(String);
    const named = volumes.find((v) => v.endsWith(':/data'))?.split(':')[0] ?? '';
    expect(named, 'a named volume on /data').toMatch(/^[a-z0-9][\w.-]*$/i);
    expect(Object.keys(asMap(compose.volumes, 'volumes'))).toContain(named);
    expect(asList(asMap(redis.healthcheck, 'redis.healthcheck').test, 'healthcheck.test').join(' ')).toMatch(
      /redis-cli ping/,
    );
  });

  it.each(targetNames)('%s: builds its own target of the Dockerfile', (target) => {
    const build = asMap(service(target).build, `services.${target}.build`);
    const context = String(build.context ?? '.');
    expect(join(root, context, String(build.dockerfile))).toBe(join(root, DOCKERFILE));
    expect(build.target).toBe(target);
    expect(stageByName.has(target)).toBe(true);
    expect(service(target).restart).toBe('unless-stopped');
  });

  it('api env: only variables the API reads, valid as compose sets them, port published', () => {
    const env = resolvedEnv('api');
    const known = Object.keys(apiEnvSchema.shape);
    for (const key of Object.keys(env)) {
      expect(
        known,
        `services.api.environment.${key} is not in apiEnvSchema (apps/api/src/config.ts)`,
      ).toContain(key);
    }
    const config = loadApiConfig(env);
    expect(config.HOST).toBe('0.0.0.0');
    expect(new URL(config.REDIS_URL).hostname, 'REDIS_URL points at the redis service').toBe('redis');
    expect(containerPorts('api')).toEqual([config.PORT]);
    expect(String(config.PORT), 'api PORT = Dockerfile EXPOSE').toBe(lastOf('api', 'EXPOSE')?.args);
    expect(serviceEnv('api').ADMIN_TOKEN, 'ADMIN_TOKEN is required, not defaulted').toMatch(
      /^\$\{ADMIN_TOKEN:\?/,
    );
    expect(asMap(asMap(service('api').depends_on, 'api.depends_on').redis, 'redis').condition).toBe(
      'service_healthy',
    );
    expect(
      durationMs(service('api').stop_grace_period, 'api.stop_grace_period'),
      'api stop_grace_period must exceed its SHUTDOWN_TIMEOUT_MS',
    ).toBeGreaterThan(config.SHUTDOWN_TIMEOUT_MS);
  });

  it('worker env: only variables the worker reads; 2 replicas, no host port, grace > drain time', () => {
    const env = resolvedEnv('worker');
    const known = Object.keys(workerEnvSchema.shape);
    for (const key of Object.keys(env)) {
      expect(
        known,
        `services.worker.environment.${key} is not in workerEnvSchema (apps/worker/src/config.ts)`,
      ).toContain(key);
    }
    const config = loadWorkerConfig(env);
    expect(config.HOST).toBe('0.0.0.0');
    expect(config.PORT).toBe(8081);
    expect(String(config.PORT), 'worker PORT = Dockerfile EXPOSE').toBe(lastOf('worker', 'EXPOSE')?.args);
    expect(new URL(config.REDIS_URL).hostname, 'REDIS_URL points at the redis service').toBe('redis');
    expect(config.OPENAI_BASE_URL).toBe('https://api.openai.com/v1');
    expect(serviceEnv('worker').OPENAI_BASE_URL, 'OPENAI_BASE_URL is overridable').toMatch(
      /^\$\{OPENAI_BASE_URL:-/,
    );
    expect(config.MAX_ATTEMPTS, 'API and worker agree on MAX_ATTEMPTS').toBe(
      loadApiConfig(resolvedEnv('api')).MAX_ATTEMPTS,
    );

    const worker = service('worker');
    expect(asMap(worker.deploy, 'worker.deploy').replicas, 'worker deploy.replicas').toBe(2);
    expect(worker.ports, 'replicas cannot share a host port').toBeUndefined();
    expect(worker.container_name, 'replicas cannot share a container name').toBeUndefined();
    expect(asMap(asMap(worker.depends_on, 'worker.depends_on').redis, 'redis').condition).toBe(
      'service_healthy',
    );
    expect(durationMs(worker.stop_grace_period, 'worker.stop_grace_period'), 'worker stop_grace_period').toBe(
      45_000,
    );
    expect(
      durationMs(worker.stop_grace_period, 'worker.stop_grace_period'),
      'worker stop_grace_period must exceed its SHUTDOWN_TIMEOUT_MS (in-flight jobs drain)',
    ).toBeGreaterThan(config.SHUTDOWN_TIMEOUT_MS);
  });

  it('sim: only under the sim profile, on all interfaces, reachable at the URL the header documents', () => {
    const sim = service('sim');
    expect(asList(sim.profiles, 'sim.profiles')).toContain('sim');
    for (const name of ['redis', 'api', 'worker']) {
      expect(service(name).profiles, `${name} runs without a profile`).toBeUndefined();
    }
    const env = resolvedEnv('sim');
    expect(env.HOST).toBe('0.0.0.0');
    expect(env.PORT, 'sim PORT = Dockerfile EXPOSE').toBe(lastOf('sim', 'EXPOSE')?.args);
    expect(containerPorts('sim')).toEqual([Number(env.PORT)]);

    const documented = /^#.*\bOPENAI_BASE_URL=(\S+)/m.exec(composeText)?.[1];
    expect(documented, 'the header documents OPENAI_BASE_URL=… for --profile sim').toBeDefined();
    const url = new URL(workerEnvSchema.shape.OPENAI_BASE_URL.parse(documented));
    expect(url.hostname, 'documented upstream is the sim service').toBe('sim');
    expect(url.port).toBe(env.PORT);
    expect(url.pathname).toBe('/v1');
    expect(composeText).toMatch(/^#.*--profile sim\b/m);
  });
});
