/**
 * Starts the whole system for an end-to-end test: a real redis-server on an ephemeral port, the
 * upstream simulator over real HTTP, the API and N workers in this process (or as child processes
 * for signal tests, see processes.ts). Every run uses its own key prefix.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ApiHandle, loadApiConfig, startApi } from '@sluice/api';
import { createLogger } from '@sluice/core';
import { type RedisServerHandle, randomPrefix, startRedis } from '@sluice/testkit';
import { type RunningSimulator, type SimConfigPatch, startSimulator } from '@sluice/upstream-sim';
import { loadWorkerConfig, startWorker, type WorkerHandle } from '@sluice/worker';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface SystemOptions {
  /** Simulator settings (limits, latency, faults). */
  sim?: SimConfigPatch;
  /** Extra API env. */
  apiEnv?: Record<string, string>;
  /** Extra worker env. */
  workerEnv?: Record<string, string>;
  /** Workers to start now. Default 1. */
  workers?: number;
  /** Reuse a Redis (e.g. one with AOF the test will restart). */
  redis?: RedisServerHandle;
}

export interface System {
  redis: RedisServerHandle;
  sim: RunningSimulator;
  api: ApiHandle;
  workers: WorkerHandle[];
  prefix: string;
  /** Env every process of this system shares (REDIS_URL, prefix, upstream). */
  env: Record<string, string>;
  startWorker(extraEnv?: Record<string, string>): Promise<WorkerHandle>;
  createTenant(tier: 'enterprise' | 'pro' | 'free', name?: string): Promise<TestTenant>;
  close(): Promise<void>;
}

export interface TestTenant {
  id: string;
  key: string;
  keyId: string;
  /** fetch against the API with this tenant's key. */
  call(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
}

const quiet = process.env.TEST_LOG_LEVEL ?? 'silent';

export async function startSystem(options: SystemOptions = {}): Promise<System> {
  const redis = options.redis ?? (await startRedis());
  const sim = await startSimulator();
  if (options.sim) sim.configure(options.sim);
  const prefix = randomPrefix('e2e');
  const env: Record<string, string> = {
    REDIS_URL: redis.url,
    SLUICE_PREFIX: prefix,
    ADMIN_TOKEN,
    LOG_LEVEL: quiet,
    OPENAI_BASE_URL: sim.url,
    OPENAI_API_KEY: 'sk-test',
    // API and workers share one file store, as they would share a volume or a bucket.
    FILE_STORAGE_DIR: mkdtempSync(join(tmpdir(), 'sluice-files-')),
  };
  const api = await startApi(
    loadApiConfig({ ...env, PORT: '0', ...options.apiEnv }),
    createLogger('api', quiet),
  );
  const workers: WorkerHandle[] = [];
  const system: System = {
    redis,
    sim,
    api,
    workers,
    prefix,
    env,
    async startWorker(extraEnv = {}) {
      const w = await startWorker(
        loadWorkerConfig({ ...env, PORT: '0', RETRY_BASE_DELAY_MS: '20', ...options.workerEnv, ...extraEnv }),
        createLogger('worker', quiet),
      );
      workers.push(w);
      return w;
    },
    async createTenant(tier, name = `${tier}-tenant`) {
      const admin = { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' };
      const t = (await (
        await fetch(`${api.url}/admin/tenants`, {
          method: 'POST',
          headers: admin,
          body: JSON.stringify({ name, tier }),
        })
      ).json()) as { id: string };
      const k = (await (
        await fetch(`${api.url}/admin/tenants/${t.id}/keys`, { method: 'POST', headers: admin })
      ).json()) as {
        id: string;
        key: string;
      };
      return {
        id: t.id,
        key: k.key,
        keyId: k.id,
        call: (path, init = {}) => {
          const { json, ...rest } = init;
          const headers = new Headers(rest.headers);
          if (!headers.has('authorization')) headers.set('Authorization', `Bearer ${k.key}`);
          if (json !== undefined) headers.set('Content-Type', 'application/json');
          return fetch(`${api.url}${path}`, {
            ...rest,
            headers,
            body: json !== undefined ? JSON.stringify(json) : rest.body,
          });
        },
      };
    },
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      await api.close();
      await sim.close();
      if (!options.redis) await redis.stop();
    },
  };
  for (let i = 0; i < (options.workers ?? 1); i++) await system.startWorker();
  return system;
}

/** A minimal chat body whose answer identifies it. */
export const chat = (text: string, extra: Record<string, unknown> = {}) => ({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: text }],
  ...extra,
});

export interface RequestJson {
  id: string;
  status: string;
  attempts: number;
  priority: string;
  started_at: number | null;
  completed_at: number | null;
  response: { choices: { message: { content: string } }[]; model: string } | null;
  error: { code: string; message: string; upstream_status?: number; upstream_code?: string | null } | null;
  usage: { total_tokens: number } | null;
  metadata: Record<string, string>;
  estimated_completion_at?: number | null;
}

/** Polls with ?wait until the request is terminal (or the deadline passes). */
export async function waitTerminal(tenant: TestTenant, id: string, timeoutMs = 30_000): Promise<RequestJson> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await tenant.call(`/v1/requests/${id}?wait=5`);
    const body = (await res.json()) as RequestJson;
    if (['completed', 'failed', 'cancelled'].includes(body.status)) return body;
    if (Date.now() > deadline) {
      // Say why: the controller's view of the upstreams is usually the answer.
      const base = new URL(res.url).origin;
      const upstreams = await fetch(`${base}/admin/upstreams`, {
        headers: { Authorization: `Bearer ${ADMIN_TOKEN}` },
      })
        .then((r) => r.text())
        .catch((err) => String(err));
      throw new Error(`request ${id} still ${body.status} after ${timeoutMs} ms; upstreams: ${upstreams}`);
    }
  }
}

/** Submits a request and returns its parsed 202 body. */
export async function submit(
  tenant: TestTenant,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<RequestJson> {
  const res = await tenant.call('/v1/requests', { method: 'POST', json: body, headers });
  if (res.status !== 202 && res.status !== 200)
    throw new Error(`submit answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as RequestJson;
}
