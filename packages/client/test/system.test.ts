import { type ApiHandle, loadApiConfig, startApi } from '@sluice/api';
import { createLogger } from '@sluice/core';
import { type RedisServerHandle, randomPrefix, startRedis } from '@sluice/testkit';
import { type RunningSimulator, startSimulator } from '@sluice/upstream-sim';
import { loadWorkerConfig, startWorker, type WorkerHandle } from '@sluice/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SluiceApiError,
  SluiceClient,
  SluiceRequestFailedError,
  SluiceTimeoutError,
  type SubmitRequest,
} from '../src/index.js';

// The SDK against the real system: redis-server, the upstream simulator over HTTP, the API and (for the
// second half) a worker, all on ephemeral ports with their own key prefix.

const ADMIN_TOKEN = 'client-test-admin-token-0123';
const quiet = process.env.TEST_LOG_LEVEL ?? 'silent';

const chat = (text: string): SubmitRequest => ({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: text }],
});

let redis: RedisServerHandle;
let sim: RunningSimulator;
let api: ApiHandle;
let env: Record<string, string>;
let client: SluiceClient;

/** Creates a tenant and an API key through the admin API. */
async function createTenantKey(): Promise<string> {
  const admin = { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' };
  const tenant = await fetch(`${api.url}/admin/tenants`, {
    method: 'POST',
    headers: admin,
    body: JSON.stringify({ name: 'sdk-tests', tier: 'pro' }),
  });
  const { id } = (await tenant.json()) as { id: string };
  const key = await fetch(`${api.url}/admin/tenants/${id}/keys`, { method: 'POST', headers: admin });
  return ((await key.json()) as { key: string }).key;
}

beforeAll(async () => {
  redis = await startRedis();
  sim = await startSimulator();
  env = {
    REDIS_URL: redis.url,
    SLUICE_PREFIX: randomPrefix('client'),
    ADMIN_TOKEN,
    LOG_LEVEL: quiet,
    OPENAI_BASE_URL: sim.url,
    OPENAI_API_KEY: 'sk-test',
  };
  api = await startApi(loadApiConfig({ ...env, PORT: '0' }), createLogger('api', quiet));
  client = new SluiceClient({ baseURL: api.url, apiKey: await createTenantKey() });
});

afterAll(async () => {
  await api?.close();
  await sim?.close();
  await redis?.stop();
});

describe('SluiceClient with no worker running', () => {
  it('cancel turns a queued request cancelled (twice is harmless); waitFor returns it', async () => {
    const queued = await client.submit(chat('cancel me'));
    expect(queued).toMatchObject({ object: 'request', status: 'queued', model: 'gpt-4o-mini' });
    expect((await client.cancel(queued.id)).status).toBe('cancelled');
    expect((await client.cancel(queued.id)).status).toBe('cancelled');
    expect((await client.waitFor(queued.id, { timeoutMs: 5_000 })).status).toBe('cancelled');
  });

  it('complete() throws SluiceRequestFailedError for a request that ends cancelled', async () => {
    const body = chat('cancel me too');
    const pending = await client
      .complete(body, { timeoutMs: 1_000, idempotencyKey: 'sdk-cancel-1' })
      .catch((e: unknown) => e);
    expect(pending).toBeInstanceOf(SluiceTimeoutError); // nothing runs it…
    const { id } = (pending as SluiceTimeoutError).view;
    await client.cancel(id);
    // …and retrying with the same key finds it cancelled.
    const failed = await client
      .complete(body, { timeoutMs: 5_000, idempotencyKey: 'sdk-cancel-1' })
      .catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(SluiceRequestFailedError);
    expect((failed as SluiceRequestFailedError).view).toMatchObject({ id, status: 'cancelled' });
    expect((failed as Error).message).toBe(`Request ${id} was cancelled.`);
  });

  it('waitFor gives up after timeoutMs with the last state; the request is untouched', async () => {
    const { id } = await client.submit(chat('nobody will run me'));
    const err = await client.waitFor(id, { timeoutMs: 1_500 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SluiceTimeoutError);
    expect((err as SluiceTimeoutError).view).toMatchObject({ id, status: 'queued' });
    expect((err as Error).message).toBe(`Request ${id} is still queued after 1500 ms.`);
    expect((await client.get(id)).status).toBe('queued');
    await client.cancel(id);
  });

  it('a bad body is a SluiceApiError 400 naming the field', async () => {
    const body = { model: 'gpt-4o-mini', messages: [{ role: 'robot', content: 'hi' }] };
    const err = await client.submit(body as unknown as SubmitRequest).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SluiceApiError);
    expect(err).toMatchObject({
      status: 400,
      code: 'invalid_request',
      type: 'invalid_request_error',
      param: 'messages.0.role',
    });
    expect((err as SluiceApiError).requestId).toMatch(/^http_/);
  });

  it('a bad key is a SluiceApiError 401 invalid_api_key', async () => {
    const stranger = new SluiceClient({ baseURL: api.url, apiKey: 'sk-sluice-not-a-real-key' });
    const err = await stranger.submit(chat('hi')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SluiceApiError);
    expect(err).toMatchObject({ status: 401, code: 'invalid_api_key', type: 'authentication_error' });
  });

  it('cancelling an unknown id is a 404 not_found with param id', async () => {
    const err = await client.cancel('req_01jz0000000000000000000000').catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 404, code: 'not_found', param: 'id' });
  });
});

describe('SluiceClient with a worker', () => {
  let worker: WorkerHandle;
  beforeAll(async () => {
    worker = await startWorker(
      loadWorkerConfig({ ...env, PORT: '0', RETRY_BASE_DELAY_MS: '20' }),
      createLogger('worker', quiet),
    );
  });
  afterAll(() => worker?.close());

  it("complete() returns the simulator's answer", async () => {
    const done = await client.complete(chat('hello from the SDK'), { timeoutMs: 30_000 });
    expect(done.status).toBe('completed');
    expect(done.response.choices[0]?.message.content).toMatch(/^Echo: hello from the SDK \[[0-9a-f]{8}\]$/);
    expect(done.usage?.total_tokens).toBeGreaterThan(0);
    expect(done.served_by).toMatchObject({ model: 'gpt-4o-mini' });
  });

  it('complete() throws SluiceRequestFailedError carrying the error of a request the upstream rejected', async () => {
    const err = await client
      .complete(chat('reject me [sim:status=400] [sim:code=invalid_value]'), { timeoutMs: 30_000 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SluiceRequestFailedError);
    const failed = err as SluiceRequestFailedError;
    expect(failed.view.status).toBe('failed');
    expect(failed.error).toMatchObject({ code: 'upstream_rejected', upstream_status: 400 });
    expect(failed.message).toMatch(/^Request req_\w+ failed: upstream_rejected: /);
  });

  it('submit with the same Idempotency-Key twice returns the same request', async () => {
    const body = chat('idempotent hello');
    const first = await client.submit(body, { idempotencyKey: 'sdk-idem-1' });
    const second = await client.submit(body, { idempotencyKey: 'sdk-idem-1' });
    expect(second.id).toBe(first.id);
    expect((await client.waitFor(first.id, { timeoutMs: 30_000 })).status).toBe('completed');
    expect(sim.calls({ contains: 'idempotent hello' }).count).toBe(1);

    const mismatch = await client
      .submit(chat('other body'), { idempotencyKey: 'sdk-idem-1' })
      .catch((e) => e);
    expect(mismatch).toMatchObject({
      status: 422,
      code: 'idempotency_key_mismatch',
      param: 'Idempotency-Key',
    });
  });

  it('get with wait holds until the request finishes', async () => {
    const { id } = await client.submit(chat('long poll me'));
    const view = await client.get(id, { wait: 20 });
    expect(view).toMatchObject({ id, status: 'completed' });
    expect(view.completed_at).not.toBeNull();
  });

  it('submit with wait answers with the finished request', async () => {
    const view = await client.submit(chat('submit and hold'), { wait: 20 });
    expect(view.status).toBe('completed');
  });

  it('cancelling a finished request is a 409 request_not_cancellable', async () => {
    const done = await client.complete(chat('too late to cancel'), { timeoutMs: 30_000 });
    const err = await client.cancel(done.id).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 409, code: 'request_not_cancellable' });
  });
});
