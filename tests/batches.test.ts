import { readdir } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { BATCH_URGENT_PRIORITY, QUEUES, queueBatchStep, redisKeys } from '@sluice/core';
import { waitFor } from '@sluice/testkit';
import { QueueEvents } from 'bullmq';
import type OpenAI from 'openai';
import { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchLine as line, sdkFor, sdkTenant, uploadJsonl } from './support/batches.js';
import { spawnApi, spawnWorker } from './support/processes.js';
import type { Receiver } from './support/receiver.js';
import { chat, type System, startSystem, submit, type TestTenant, waitTerminal } from './support/system.js';
import {
  registerWebhook,
  startWebhookSystem,
  stopWebhookSystem,
  verifyDelivery,
} from './support/webhooks.js';

interface Usage {
  prompt_tokens: number;
  completion_tokens?: number;
  total_tokens: number;
}

/** A Batch object's `usage` computed from its lines' responses. */
const sumUsage = (usages: Usage[]) => {
  const input = usages.reduce((sum, u) => sum + u.prompt_tokens, 0);
  const output = usages.reduce((sum, u) => sum + (u.completion_tokens ?? 0), 0);
  return { input_tokens: input, output_tokens: output, total_tokens: input + output };
};

const fileLines = async (openai: OpenAI, fileId: string | null | undefined) =>
  fileId
    ? (await (await openai.files.content(fileId)).text())
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as OutputLine)
    : [];

interface OutputLine {
  id: string;
  custom_id: string;
  response: { status_code: number; request_id: string; body: Record<string, unknown> } | null;
  error: { code: string; message: string } | null;
}

async function until<T>(fn: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out; last: ${JSON.stringify(v).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('Batch API driven by the official openai SDK', () => {
  let sys: System;
  let openai: OpenAI;

  beforeAll(async () => {
    sys = await startSystem({ workerEnv: { BATCH_SWEEP_INTERVAL_MS: '200' } });
    ({ openai } = await sdkTenant(sys));
  });
  afterAll(() => sys?.close());

  it('files.create → batches.create → retrieve until done → files.content: every custom_id gets its own answer', async () => {
    const n = 40;
    const jsonl = Array.from({ length: n }, (_, i) => line(`task-${i}`, `batch question ${i}`)).join('\n');
    const file = await uploadJsonl(openai, jsonl, 'input.jsonl');
    expect(file).toMatchObject({
      object: 'file',
      purpose: 'batch',
      filename: 'input.jsonl',
      bytes: Buffer.byteLength(jsonl),
    });
    expect(file.id).toMatch(/^file-/);
    // Without expires_after a batch file expires after 30 days, as on OpenAI.
    expect(file.expires_at).toBe(file.created_at + 30 * 86_400);
    expect((await openai.files.retrieve(file.id)).id).toBe(file.id);

    const batch = await openai.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
      metadata: { job: 'nightly' },
    });
    expect(batch).toMatchObject({
      object: 'batch',
      status: 'validating',
      input_file_id: file.id,
      metadata: { job: 'nightly' },
    });

    const done = await until(
      () => openai.batches.retrieve(batch.id),
      (b) => b.status === 'completed',
    );
    expect(done.request_counts).toEqual({ total: n, completed: n, failed: 0 });
    expect(done.in_progress_at).not.toBeNull();
    expect(done.completed_at).not.toBeNull();
    expect(done.output_file_id).toMatch(/^file-/);
    expect(done.error_file_id).toBeNull();

    const content = await (await openai.files.content(done.output_file_id as string)).text();
    const out = content
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            id: string;
            custom_id: string;
            response: {
              status_code: number;
              request_id: string;
              body: { choices: { message: { content: string } }[]; usage: Usage };
            };
            error: null;
          },
      );
    expect(out).toHaveLength(n);
    for (const o of out) {
      const i = o.custom_id.replace('task-', '');
      expect(o.id).toMatch(/^batch_req_/);
      expect(o.error).toBeNull();
      expect(o.response.status_code).toBe(200);
      expect(o.response.body.choices[0]?.message.content).toContain(`Echo: batch question ${i} [`);
    }
    // The batch's usage is exactly what its lines used, and each line's record keeps its usage as an
    // interactive request's does (line records are not exposed by GET /v1/requests, so read the store).
    const usage = sumUsage(out.map((o) => o.response.body.usage));
    expect(usage.input_tokens).toBeGreaterThan(0);
    expect(usage.output_tokens).toBeGreaterThan(0);
    expect(done.usage).toEqual(usage);
    for (const o of out) {
      const record = await sys.api.deps.requests.get(o.response.request_id);
      expect(record?.usage).toEqual(o.response.body.usage);
    }
  });

  it('reports failed lines in the error file, OpenAI-style', async () => {
    const jsonl = [line('ok-1', 'fine'), line('bad-1', 'rejected [sim:status=400]')].join('\n');
    const file = await uploadJsonl(openai, jsonl, 'mixed.jsonl');
    const batch = await openai.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    const done = await until(
      () => openai.batches.retrieve(batch.id),
      (b) => b.status === 'completed',
    );
    expect(done.request_counts).toEqual({ total: 2, completed: 1, failed: 1 });
    const errors = (await (await openai.files.content(done.error_file_id as string)).text())
      .trim()
      .split('\n');
    expect(errors).toHaveLength(1);
    const e = JSON.parse(errors[0] as string) as { custom_id: string; response: { status_code: number } };
    expect(e.custom_id).toBe('bad-1');
    expect(e.response.status_code).toBe(400);
  });

  it('batches.list auto-paginates; files.list too', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const file = await uploadJsonl(openai, line(`p${i}`, `page ${i}`), `p${i}.jsonl`);
      ids.push(
        (
          await openai.batches.create({
            input_file_id: file.id,
            endpoint: '/v1/chat/completions',
            completion_window: '24h',
          })
        ).id,
      );
    }
    const seen: string[] = [];
    for await (const b of openai.batches.list({ limit: 2 })) seen.push(b.id);
    for (const id of ids) expect(seen).toContain(id);
    expect(new Set(seen).size).toBe(seen.length);
    const files: string[] = [];
    for await (const f of openai.files.list({ limit: 2 })) files.push(f.id);
    expect(files.length).toBeGreaterThanOrEqual(6);
  });

  it('batches.cancel stops what is queued and finalizes with the partial results', async () => {
    // One line at a time, 400 ms each: some lines finish, then the cancel finds the rest queued.
    const w = sys.workers[0];
    if (!w) throw new Error('no worker');
    w.worker.concurrency = 1;
    try {
      const n = 20;
      const jsonl = Array.from({ length: n }, (_, i) =>
        line(`c${i}`, `cancel me ${i} [sim:latency=400]`),
      ).join('\n');
      const file = await uploadJsonl(openai, jsonl, 'cancel.jsonl');
      const batch = await openai.batches.create({
        input_file_id: file.id,
        endpoint: '/v1/chat/completions',
        completion_window: '24h',
      });
      const before = await until(
        () => openai.batches.retrieve(batch.id),
        (b) => (b.request_counts?.completed ?? 0) >= 3,
      );
      expect(before.status).toBe('in_progress');
      const cancelling = await openai.batches.cancel(batch.id);
      expect(['cancelling', 'cancelled']).toContain(cancelling.status);
      const done = await until(
        () => openai.batches.retrieve(batch.id),
        (b) => b.status === 'cancelled',
      );
      expect(done.cancelled_at).not.toBeNull();
      const completed = done.request_counts?.completed ?? 0;
      expect(completed).toBeGreaterThanOrEqual(3);
      expect(completed).toBeLessThan(n);
      expect(done.request_counts).toEqual({ total: n, completed, failed: 0 });

      // The lines that ran are exactly those that reached the upstream.
      const ran = Array.from({ length: n }, (_, i) => i)
        .filter((i) => sys.sim.calls({ contains: `cancel me ${i} [` }).count > 0)
        .map((i) => `c${i}`);
      const out = await fileLines(openai, done.output_file_id);
      const errors = await fileLines(openai, done.error_file_id);
      expect(out.map((o) => o.custom_id).sort()).toEqual([...ran].sort());
      expect(out).toHaveLength(completed);
      for (const o of out) {
        expect(o.error).toBeNull();
        expect(o.response?.status_code).toBe(200);
        expect(JSON.stringify(o.response?.body)).toContain(`Echo: cancel me ${o.custom_id.slice(1)} [`);
      }
      // Every other line is in the error file, once, as batch_cancelled; none is in both files.
      const rest = Array.from({ length: n }, (_, i) => `c${i}`).filter((id) => !ran.includes(id));
      expect(errors.map((e) => e.custom_id).sort()).toEqual(rest.sort());
      for (const e of errors) {
        expect(e.response).toBeNull();
        expect(e.error?.code).toBe('batch_cancelled');
      }
      expect(out.length + errors.length).toBe(n);
      expect(new Set([...out, ...errors].map((l) => l.id)).size).toBe(n);
    } finally {
      w.worker.concurrency = 64;
    }
  });

  it('a line whose record expired before finalize is in the error file as batch_result_expired, not dropped', async () => {
    const jsonl = Array.from({ length: 6 }, (_, i) =>
      line(`x${i}`, `short-lived ${i}${i === 5 ? ' [sim:latency=6000]' : ''}`),
    ).join('\n');
    const batch = await openai.batches.create({
      input_file_id: (await uploadJsonl(openai, jsonl, 'ttl.jsonl')).id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    await until(
      () => openai.batches.retrieve(batch.id),
      (b) => (b.request_counts?.completed ?? 0) >= 5,
    );
    // Line 2's record runs out of TTL (as with RESULT_TTL_SECONDS shorter than the batch's run)
    // while the slow line keeps the batch open.
    const key = redisKeys(sys.prefix).request(`${batch.id}-00002`);
    expect(await sys.api.deps.redis.hget(key, 'status')).toBe('completed');
    await sys.api.deps.redis.pexpire(key, 1);
    await waitFor(async () => (await sys.api.deps.redis.exists(key)) === 0, { timeoutMs: 5_000 });
    expect((await openai.batches.retrieve(batch.id)).status).toBe('in_progress');

    const done = await until(
      () => openai.batches.retrieve(batch.id),
      (b) => b.status === 'completed',
    );
    expect(done.request_counts).toEqual({ total: 6, completed: 6, failed: 0 });
    const out = await fileLines(openai, done.output_file_id);
    expect(out.map((o) => o.custom_id).sort()).toEqual(['x0', 'x1', 'x3', 'x4', 'x5']);
    const errors = await fileLines(openai, done.error_file_id);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      custom_id: 'x2',
      response: null,
      error: { code: 'batch_result_expired' },
    });
    expect(errors[0]?.id).toMatch(/^batch_req_/);
  });
});

describe('bad batch files', () => {
  let sys: System;
  let tenant: TestTenant;
  let openai: OpenAI;
  beforeAll(async () => {
    sys = await startSystem({ workerEnv: { BATCH_SWEEP_INTERVAL_MS: '200' } });
    ({ tenant, openai } = await sdkTenant(sys));
  });
  afterAll(() => sys?.close());

  const failWith = async (
    jsonl: string,
    endpoint: '/v1/chat/completions' | '/v1/embeddings' = '/v1/chat/completions',
  ) => {
    const file = await uploadJsonl(openai, jsonl, 'bad.jsonl');
    const batch = await openai.batches.create({ input_file_id: file.id, endpoint, completion_window: '24h' });
    const done = await until(
      () => openai.batches.retrieve(batch.id),
      (b) => b.status === 'failed' || b.status === 'completed',
    );
    expect(done.status).toBe('failed');
    expect(done.failed_at).not.toBeNull();
    return done.errors?.data ?? [];
  };

  it.each([
    ['invalid_json_line', `${line('a', 'x')}\n{not json`, 2],
    ['duplicate_custom_id', `${line('a', 'x')}\n${line('a', 'y')}`, 2],
    [
      'url_mismatch',
      `${line('a', 'x')}\n${line('b', 'y').replace('/v1/chat/completions', '/v1/embeddings')}`,
      2,
    ],
    ['model_mismatch', `${line('a', 'x')}\n${line('b', 'y', { model: 'gpt-4o' })}`, 2],
    [
      'missing_required_parameter',
      `${line('a', 'x')}\n{"custom_id":"b","method":"POST","url":"/v1/chat/completions"}`,
      2,
    ],
    ['invalid_request', `${line('a', 'x', { temperature: 9 })}`, 1],
  ])('reports %s with its line number', async (code, jsonl, lineNo) => {
    const errors = await failWith(jsonl);
    expect(errors.map((e) => e.code)).toContain(code);
    expect(errors.find((e) => e.code === code)?.line).toBe(lineNo);
  });

  it('reports too_many_tasks for more than 50,000 lines', async () => {
    const jsonl = Array.from({ length: 50_001 }, (_, i) => line(`t${i}`, 'x')).join('\n');
    const errors = await failWith(jsonl);
    expect(errors[0]?.code).toBe('too_many_tasks');
  });

  it('reports empty_file for a file of blank lines, and a non-JSONL file as invalid_json_line', async () => {
    expect((await failWith('\n\n  \n')).map((e) => e.code)).toEqual(['empty_file']);
    expect((await failWith('name,age\nbob,3')).map((e) => e.code)).toEqual([
      'invalid_json_line',
      'invalid_json_line',
    ]);
  });

  it('refuses a 0-byte upload and an unknown purpose with a clear 400', async () => {
    await expect(
      openai.files.create({ file: await toFile(Buffer.alloc(0), 'empty.jsonl'), purpose: 'batch' }),
    ).rejects.toMatchObject({
      status: 400,
      param: 'file',
    });
    await expect(
      openai.files.create({ file: await toFile(Buffer.from('{}'), 'x.jsonl'), purpose: 'fine-tune' }),
    ).rejects.toMatchObject({
      status: 400,
      param: 'purpose',
    });
  });

  it('answers 413 for a declared size over 200 MB without reading the body', async () => {
    // Declare 201 MB, send only the first bytes: the answer must come anyway, without the rest.
    const { statusCode, body } = await new Promise<{ statusCode: number; body: string }>(
      (resolve, reject) => {
        const req = request(`${sys.api.url}/v1/files`, {
          method: 'POST',
          headers: {
            Authorization: `Bearer ${tenant.key}`,
            'Content-Type': 'multipart/form-data; boundary=x',
            'Content-Length': String(201 * 1024 * 1024),
          },
        });
        req.on('response', (res) => {
          let text = '';
          res.on('data', (c: Buffer) => {
            text += c.toString();
          });
          res.on('end', () => {
            resolve({ statusCode: res.statusCode ?? 0, body: text });
            req.destroy();
          });
        });
        req.on('error', reject);
        req.write('--x\r\n');
      },
    );
    expect(statusCode).toBe(413);
    expect((JSON.parse(body) as { error: { code: string } }).error.code).toBe('payload_too_large');
  });

  it('another tenant’s file and batch answer 404', async () => {
    const file = await uploadJsonl(openai, line('a', 'x'), 'mine.jsonl');
    const other = await sys.createTenant('pro');
    const theirs = sdkFor(sys.api.url, other.key);
    await expect(theirs.files.retrieve(file.id)).rejects.toMatchObject({ status: 404 });
    await expect(theirs.files.content(file.id)).rejects.toMatchObject({ status: 404 });
    await expect(
      theirs.batches.create({
        input_file_id: file.id,
        endpoint: '/v1/chat/completions',
        completion_window: '24h',
      }),
    ).rejects.toMatchObject({ status: 404 });
    const batch = await openai.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    await expect(theirs.batches.retrieve(batch.id)).rejects.toMatchObject({ status: 404 });
  });

  it('deletes a file', async () => {
    const file = await uploadJsonl(openai, line('a', 'x'), 'del.jsonl');
    expect(await openai.files.delete(file.id)).toMatchObject({ id: file.id, deleted: true });
    await expect(openai.files.retrieve(file.id)).rejects.toMatchObject({ status: 404 });
  });
});

describe('file size limit and expiry', () => {
  const limit = 64 * 1024;
  let sys: System;
  beforeAll(async () => {
    // FILE_DEFAULT_EXPIRY_SECONDS=0: files sent without expires_after are kept until deleted.
    sys = await startSystem({
      workers: 0,
      apiEnv: { FILE_MAX_BYTES: String(limit), FILE_DEFAULT_EXPIRY_SECONDS: '0' },
    });
  });
  afterAll(() => sys?.close());

  const client = (t: TestTenant) => sdkFor(sys.api.url, t.key);
  /** Every stored object (temp files included) and file record of a tenant. */
  const leftovers = async (t: TestTenant) => ({
    stored: await readdir(join(sys.env.FILE_STORAGE_DIR as string, 'files', t.id)).catch(() => []),
    records: await sys.api.deps.redis.zcard(redisKeys(sys.prefix).tenantFiles(t.id)),
    listed: (await client(t).files.list()).data.length,
  });

  it('answers 413 in OpenAI error shape to a chunked upload over FILE_MAX_BYTES, before it ends, and keeps nothing', async () => {
    const tenant = await sys.createTenant('pro');
    // No Content-Length: the size is only known by reading. The body never ends, so an answer can
    // only come from the limit being crossed.
    const { status, body, ended } = await new Promise<{ status: number; body: string; ended: boolean }>(
      (resolve, reject) => {
        const req = request(`${sys.api.url}/v1/files`, {
          method: 'POST',
          headers: {
            Authorization: `Bearer ${tenant.key}`,
            'Content-Type': 'multipart/form-data; boundary=x',
          },
        });
        expect(req.getHeader('content-length')).toBeUndefined();
        let answered = false;
        req.on('response', (res) => {
          answered = true;
          let text = '';
          res.on('data', (c: Buffer) => {
            text += c.toString();
          });
          res.on('end', () => {
            resolve({ status: res.statusCode ?? 0, body: text, ended: req.writableEnded });
            req.destroy();
          });
        });
        // Writes after the server hung up fail; only an error before any answer counts.
        req.on('error', (err) => {
          if (!answered) reject(err);
        });
        req.write(
          '--x\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n' +
            '--x\r\nContent-Disposition: form-data; name="file"; filename="big.jsonl"\r\n' +
            'Content-Type: application/jsonl\r\n\r\n',
        );
        const chunk = `${line('big', 'y'.repeat(16 * 1024 - 200))}\n`;
        for (let sent = 0; sent < 2 * limit; sent += chunk.length) req.write(chunk);
      },
    );
    expect(ended).toBe(false);
    expect(status).toBe(413);
    expect(JSON.parse(body)).toEqual({
      error: {
        message: `Files may be at most ${limit} bytes.`,
        type: 'invalid_request_error',
        param: 'file',
        code: 'payload_too_large',
      },
    });
    expect(await leftovers(tenant)).toEqual({ stored: [], records: 0, listed: 0 });
  });

  it('accepts a file of exactly FILE_MAX_BYTES and refuses one byte more', async () => {
    const tenant = await sys.createTenant('pro');
    const openai = client(tenant);
    const exact = await openai.files.create({
      file: await toFile(Buffer.alloc(limit, 'a'), 'exact.jsonl'),
      purpose: 'batch',
    });
    expect(exact.bytes).toBe(limit);
    await expect(
      openai.files.create({
        file: await toFile(Buffer.alloc(limit + 1, 'a'), 'over.jsonl'),
        purpose: 'batch',
      }),
    ).rejects.toMatchObject({ status: 413, code: 'payload_too_large', param: 'file' });
    expect(await leftovers(tenant)).toEqual({ stored: [exact.id], records: 1, listed: 1 });
  });

  it('expires_after sets expires_at = created_at + seconds; bad values answer 400 naming the param; none with FILE_DEFAULT_EXPIRY_SECONDS=0', async () => {
    const tenant = await sys.createTenant('pro');
    const openai = client(tenant);
    const upload = async (expires_after?: unknown) =>
      openai.files.create({
        file: await toFile(Buffer.from(line('a', 'x')), 'exp.jsonl'),
        purpose: 'batch',
        ...(expires_after !== undefined && {
          expires_after: expires_after as OpenAI.FileCreateParams.ExpiresAfter,
        }),
      });

    for (const seconds of [3_600, 86_400, 2_592_000]) {
      const file = await upload({ anchor: 'created_at', seconds });
      expect(file.expires_at).toBe(file.created_at + seconds);
      expect((await openai.files.retrieve(file.id)).expires_at).toBe(file.created_at + seconds);
      // The worker's file sweeper deletes it at expires_at (bytes and record)...
      const keys = redisKeys(sys.prefix);
      const due = Number(await sys.api.deps.redis.zscore(keys.fileExpiries(), file.id));
      expect(Math.floor(due / 1000)).toBe(file.created_at + seconds);
      // ...and the record's own TTL is a backstop a week later, should no worker run.
      const ttl = await sys.api.deps.redis.pttl(keys.file(file.id));
      const week = 7 * 86_400_000;
      expect(ttl).toBeGreaterThan((seconds - 60) * 1000 + week);
      expect(ttl).toBeLessThanOrEqual(seconds * 1000 + week);
    }

    const plain = await upload();
    expect(plain.expires_at).toBeNull();
    expect((await openai.files.retrieve(plain.id)).expires_at).toBeNull();
    expect(await sys.api.deps.redis.pttl(redisKeys(sys.prefix).file(plain.id))).toBe(-1);

    for (const [bad, param] of [
      [{ anchor: 'created_at', seconds: 3_599 }, 'expires_after.seconds'],
      [{ anchor: 'created_at', seconds: 2_592_001 }, 'expires_after.seconds'],
      [{ anchor: 'created_at', seconds: 3_600.5 }, 'expires_after.seconds'],
      [{ anchor: 'created_at', seconds: 'soon' }, 'expires_after.seconds'],
      [{ anchor: 'created_at' }, 'expires_after.seconds'],
      [{ anchor: 'last_active_at', seconds: 3_600 }, 'expires_after.anchor'],
      [{ seconds: 3_600 }, 'expires_after.anchor'],
    ] as const) {
      await expect(upload(bad), JSON.stringify(bad)).rejects.toMatchObject({
        status: 400,
        code: 'invalid_request',
        param,
      });
    }
    // Refused uploads keep nothing: only the four accepted files are stored.
    const left = await leftovers(tenant);
    expect(left).toMatchObject({ records: 4, listed: 4 });
    expect(left.stored).toHaveLength(4);
  });
});

describe('batch lifecycle: expiry, priority, events, embeddings, restarts', () => {
  let sys: System;
  let tenant: TestTenant;
  let openai: OpenAI;
  let rx: Receiver;
  beforeAll(async () => {
    ({ sys, rx } = await startWebhookSystem({
      apiEnv: { BATCH_WINDOW_MS: '4000' },
      // With a 4 s window every batch would count as urgent under the 6 h / 2 h defaults.
      workerEnv: {
        BATCH_SWEEP_INTERVAL_MS: '200',
        BATCH_PROMOTE_BEFORE_MS: '1000',
        BATCH_URGENT_BEFORE_MS: '500',
      },
    }));
    ({ tenant, openai } = await sdkTenant(sys));
  });
  afterAll(() => stopWebhookSystem(sys, rx));

  const upload = (jsonl: string) => uploadJsonl(openai, jsonl);

  it('at the end of the completion window unfinished lines get batch_expired; the batch is expired with what was done', async () => {
    const slow = Array.from({ length: 6 }, (_, i) =>
      line(`e${i}`, `expiring ${i} [sim:latency=${i < 2 ? 10 : 15000}]`),
    ).join('\n');
    await sys.api.deps.queue.pause();
    const batch = await openai.batches.create({
      input_file_id: (await upload(slow)).id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    await until(
      () => openai.batches.retrieve(batch.id),
      (b) => b.status === 'in_progress',
    );
    await sys.api.deps.queue.resume();
    const done = await until(
      () => openai.batches.retrieve(batch.id),
      (b) => b.status === 'expired',
      20_000,
    );
    expect(done.expired_at).not.toBeNull();
    expect(done.request_counts?.total).toBe(6);
    expect((done.request_counts?.completed ?? 0) + (done.request_counts?.failed ?? 0)).toBe(6);
    const errors = (await (await openai.files.content(done.error_file_id as string)).text())
      .trim()
      .split('\n');
    const codes = errors.map((l) => (JSON.parse(l) as { error: { code: string } }).error.code);
    expect(codes.length).toBeGreaterThan(0);
    expect(new Set(codes)).toEqual(new Set(['batch_expired']));
    if (done.output_file_id) {
      const ok = (await (await openai.files.content(done.output_file_id)).text()).trim().split('\n');
      expect(ok.length + errors.length).toBe(6);
    }
  });

  it('as its window runs out a batch overtakes queued interactive work, so it cannot be starved past it', async () => {
    const w = sys.workers[0];
    await w?.worker.pause();
    const free = await sys.createTenant('free');
    const interactive = await Promise.all(
      Array.from(
        { length: 5 },
        async (_, i) => (await submit(free, chat(`free work ${i}`, { priority: 'low' }))).id,
      ),
    );
    const jsonl = Array.from({ length: 5 }, (_, i) => line(`u${i}`, `urgent batch ${i}`)).join('\n');
    const batch = await openai.batches.create({
      input_file_id: (await upload(jsonl)).id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    await until(
      () => openai.batches.retrieve(batch.id),
      (b) => b.status === 'in_progress',
    );
    // Promote as a worker's batch sweeper does when the window is nearly over.
    await queueBatchStep(sys.api.deps.batchQueue, {
      kind: 'promote',
      batchId: batch.id,
      priority: BATCH_URGENT_PRIORITY,
    });
    await waitFor(
      async () =>
        (await sys.api.deps.redis.hget(redisKeys(sys.prefix).batch(batch.id), 'promoted_priority')) !== null,
      {
        timeoutMs: 10_000,
      },
    );
    const events = new QueueEvents(QUEUES.completions, {
      connection: { host: sys.redis.host, port: sys.redis.port },
      prefix: redisKeys(sys.prefix).bullPrefix,
    });
    await events.waitUntilReady();
    const order: string[] = [];
    events.on('active', ({ jobId }) => order.push(jobId));
    if (w) w.worker.concurrency = 1;
    await w?.worker.resume();
    await until(
      () => openai.batches.retrieve(batch.id),
      (b) => b.status === 'completed',
    );
    for (const id of interactive) await waitTerminal(free, id);
    await events.close();
    if (w) w.worker.concurrency = 64;
    const firstInteractive = Math.min(...interactive.map((id) => order.indexOf(id)).filter((i) => i >= 0));
    const lastBatchLine = Math.max(...order.map((id, i) => (id.startsWith(batch.id) ? i : -1)));
    expect(lastBatchLine).toBeLessThan(firstInteractive);
  });

  it('runs /v1/embeddings batches', async () => {
    const jsonl = ['alpha', 'beta'].map((t) =>
      JSON.stringify({
        custom_id: t,
        method: 'POST',
        url: '/v1/embeddings',
        body: { model: 'text-embedding-3-small', input: t },
      }),
    );
    const batch = await openai.batches.create({
      input_file_id: (await upload(jsonl.join('\n'))).id,
      endpoint: '/v1/embeddings',
      completion_window: '24h',
    });
    const done = await until(
      () => openai.batches.retrieve(batch.id),
      (b) => b.status === 'completed',
    );
    const out = (await (await openai.files.content(done.output_file_id as string)).text()).trim().split('\n');
    const parsed = out.map(
      (l) =>
        JSON.parse(l) as {
          custom_id: string;
          response: { body: { data: { embedding: number[] }[]; usage: Usage } };
        },
    );
    expect(parsed.map((o) => o.custom_id).sort()).toEqual(['alpha', 'beta']);
    expect(parsed[0]?.response.body.data[0]?.embedding.length).toBeGreaterThan(0);
    // Embeddings have input tokens only.
    const usage = sumUsage(parsed.map((o) => o.response.body.usage));
    expect(usage.input_tokens).toBeGreaterThan(0);
    expect(usage.output_tokens).toBe(0);
    expect(done.usage).toEqual(usage);
  });

  it('a batch survives its worker being SIGKILLed mid-way and the API restarting', async () => {
    for (const w of sys.workers.splice(0)) await w.close();
    const env = {
      ...sys.env,
      WORKER_LOCK_DURATION_MS: '2000',
      WORKER_STALLED_INTERVAL_MS: '1000',
      BATCH_SWEEP_INTERVAL_MS: '200',
    };
    const apiA = await spawnApi(sys.env);
    const clientA = sdkFor(apiA.url, tenant.key);
    const a = await spawnWorker(env, 'batch-worker-a');
    const jsonl = Array.from({ length: 40 }, (_, i) => line(`r${i}`, `restart ${i} [sim:latency=150]`)).join(
      '\n',
    );
    const file = await uploadJsonl(clientA, jsonl, 'restart.jsonl');
    const batch = await clientA.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    await until(
      () => clientA.batches.retrieve(batch.id),
      (b) => (b.request_counts?.completed ?? 0) >= 5,
      20_000,
    );
    await a.kill();
    expect(await apiA.stop()).toBe(0);
    const apiB = await spawnApi(sys.env);
    const b = await spawnWorker(env, 'batch-worker-b');
    try {
      const clientB = sdkFor(apiB.url, tenant.key);
      const done = await until(
        () => clientB.batches.retrieve(batch.id),
        (x) => x.status === 'completed',
        40_000,
      );
      expect(done.request_counts).toEqual({ total: 40, completed: 40, failed: 0 });
      const out = (await (await clientB.files.content(done.output_file_id as string)).text())
        .trim()
        .split('\n');
      expect(new Set(out.map((l) => (JSON.parse(l) as { custom_id: string }).custom_id)).size).toBe(40);
    } finally {
      await b.stop();
      await apiB.stop();
    }
  });
});

describe('batch traffic yields to interactive traffic', () => {
  let sys: System;
  let tenant: TestTenant;
  let openai: OpenAI;
  let rx: Receiver;
  beforeAll(async () => {
    ({ sys, rx } = await startWebhookSystem({ workerEnv: { BATCH_SWEEP_INTERVAL_MS: '200' } }));
    ({ tenant, openai } = await sdkTenant(sys));
  });
  afterAll(() => stopWebhookSystem(sys, rx));

  const upload = (jsonl: string) => uploadJsonl(openai, jsonl);

  it('interactive requests overtake a queued batch; batch events reach webhooks', async () => {
    const ep = await registerWebhook(tenant, rx.url('/batches'), { events: ['batch.completed'] });
    // A rate-limited upstream (15 requests/s) turns the 30 lines into a 2 s backlog.
    sys.sim.configure({ rpm: 900, windowMs: 1_000 });
    const jsonl = Array.from({ length: 30 }, (_, i) => line(`q${i}`, `queued batch line ${i}`)).join('\n');
    const batch = await openai.batches.create({
      input_file_id: (await upload(jsonl)).id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    const batchKey = redisKeys(sys.prefix).batch(batch.id);
    await waitFor(async () => (await sys.api.deps.redis.hget(batchKey, 'enqueued')) === '30', {
      timeoutMs: 10_000,
    });
    const free = await sys.createTenant('free');
    const interactive = await submit(free, chat('interactive after the batch', { priority: 'low' }));
    expect((await waitTerminal(free, interactive.id)).status).toBe('completed');
    // Served before the batch submitted ahead of it had finished. (The steady-state claim, interactive
    // p95 of tens of ms behind a 50,000-line backlog, is measured by pnpm bench:batch; here the limit
    // appears abruptly and the controller first relearns it.)
    const progress = await openai.batches.retrieve(batch.id);
    expect(progress.request_counts?.completed ?? 0).toBeLessThan(25);
    await until(
      () => openai.batches.retrieve(batch.id),
      (b) => b.status === 'completed',
      30_000,
    );
    sys.sim.configure({ rpm: 0, windowMs: 60_000 });
    await waitFor(() => rx.at('/batches').length === 1, { timeoutMs: 10_000 });
    const event = verifyDelivery<{ type: string; data: { id: string; status: string } }>(
      ep.secret,
      rx.at('/batches')[0],
    );
    expect(event).toMatchObject({ type: 'batch.completed', data: { id: batch.id, status: 'completed' } });
  });
});
