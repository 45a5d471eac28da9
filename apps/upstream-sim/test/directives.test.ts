import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { chatAnswerText } from '../src/index.js';
import { caught, chatBody, MODEL, postJson, sdk, sleep, startTestSim } from './harness.js';

const ask = (client: OpenAI, content: string) =>
  client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content }] });

describe('per-prompt directives', () => {
  it.each([
    [400, OpenAI.BadRequestError, 'invalid_request_error', null],
    [401, OpenAI.AuthenticationError, 'invalid_request_error', 'invalid_api_key'],
    [403, OpenAI.PermissionDeniedError, 'invalid_request_error', null],
    [404, OpenAI.NotFoundError, 'invalid_request_error', 'model_not_found'],
    [409, OpenAI.ConflictError, 'invalid_request_error', null],
    [422, OpenAI.UnprocessableEntityError, 'invalid_request_error', null],
    [429, OpenAI.RateLimitError, 'requests', 'rate_limit_exceeded'],
    [500, OpenAI.InternalServerError, 'server_error', null],
    [503, OpenAI.InternalServerError, 'server_error', null],
  ])('[sim:status=%i] answers that status with an OpenAI error', async (status, errorClass, type, code) => {
    const sim = await startTestSim();
    const error = await caught(() => ask(sdk(sim), `hello [sim:status=${status}]`));
    expect(error).toBeInstanceOf(errorClass);
    expect(error).toMatchObject({ status, type, code, param: null });
    expect(sim.stats()).toMatchObject({ errors: 1, completed: 0, rejected: 0 });
  });

  it('[sim:retry-after-ms=N] adds retry hints and [sim:code=…] sets the error code', async () => {
    const sim = await startTestSim();
    const limited = await postJson(
      sim,
      '/chat/completions',
      chatBody('x [sim:status=429] [sim:retry-after-ms=1234]'),
    );
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after-ms')).toBe('1234');
    expect(limited.headers.get('retry-after')).toBe('2');

    const quota = await postJson(
      sim,
      '/chat/completions',
      chatBody('x [sim:status=429][sim:code=insufficient_quota]'),
    );
    expect(quota.status).toBe(429);
    expect(quota.headers.get('retry-after-ms')).toBeNull();
    expect(await quota.json()).toMatchObject({
      error: { type: 'insufficient_quota', code: 'insufficient_quota' },
    });
  });

  it('[sim:fail=503x2] fails the first two calls of that exact prompt, then succeeds', async () => {
    const sim = await startTestSim();
    const prompt = 'flaky job 1 [sim:fail=503x2]';
    const statuses = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await postJson(sim, '/chat/completions', chatBody(prompt))).status);
    expect(statuses).toEqual([503, 503, 200, 200]);

    // Another prompt has its own counter; `fail=N` means N 500s.
    const other = [];
    for (let i = 0; i < 2; i++) {
      other.push((await postJson(sim, '/chat/completions', chatBody('flaky job 2 [sim:fail=1]'))).status);
    }
    expect(other).toEqual([500, 200]);

    // Reset forgets the counters.
    sim.reset();
    expect((await postJson(sim, '/chat/completions', chatBody(prompt))).status).toBe(503);
  });

  it('[sim:fail=…] combines with [sim:retry-after-ms=…] and succeeds through SDK retries', async () => {
    const sim = await startTestSim();
    const completion = await ask(sdk(sim, 'k', 2), 'retry me [sim:fail=429x2] [sim:retry-after-ms=10]');
    expect(completion.choices[0]?.message.content).toMatch(/^Echo: retry me \[/);
    expect(sim.calls({ contains: 'retry me' })).toMatchObject({
      count: 3,
      byOutcome: { error: 2, completed: 1 },
    });
  });

  it('strips directives from the echoed text but keeps them in the prompt hash', async () => {
    const sim = await startTestSim();
    const plain = await ask(sdk(sim), 'hello world');
    const directed = await ask(sdk(sim), 'hello [sim:latency=1] world');
    const messages = [{ role: 'user' as const, content: 'hello [sim:latency=1] world' }];
    expect(directed.choices[0]?.message.content).toBe(chatAnswerText(MODEL, messages));
    expect(directed.choices[0]?.message.content).toMatch(/^Echo: hello world \[[0-9a-f]{8}\]$/);
    expect(directed.choices[0]?.message.content).not.toBe(plain.choices[0]?.message.content);
  });

  it('[sim:latency=N] overrides the configured latency', async () => {
    const sim = await startTestSim({ latencyMs: 0 });
    const response = await postJson(sim, '/chat/completions', chatBody('slow [sim:latency=250]'));
    expect(response.status).toBe(200);
    expect(Number(response.headers.get('openai-processing-ms'))).toBeGreaterThanOrEqual(250);
  });

  it('[sim:hang], [sim:malformed] and [sim:truncated] force those faults', async () => {
    const sim = await startTestSim();
    const hung = postJson(sim, '/chat/completions', chatBody('[sim:hang]'), {
      signal: AbortSignal.timeout(150),
    });
    await expect(hung).rejects.toThrow();

    const malformed = await postJson(sim, '/chat/completions', chatBody('[sim:malformed]'));
    expect(malformed.status).toBe(200);
    await expect(malformed.json()).rejects.toThrow(SyntaxError);

    const truncated = await postJson(sim, '/chat/completions', chatBody('[sim:truncated]'));
    await expect(truncated.text()).rejects.toThrow();

    await sleep(20);
    expect(sim.stats()).toMatchObject({ hangs: 1, malformed: 1, truncated: 1, completed: 0, inFlight: 0 });
  });

  it('reads directives only from the last user message', async () => {
    const sim = await startTestSim();
    const completion = await sdk(sim).chat.completions.create({
      model: MODEL,
      messages: [
        { role: 'system', content: '[sim:status=500]' },
        { role: 'user', content: 'earlier [sim:status=500]' },
        { role: 'user', content: 'latest' },
      ],
    });
    expect(completion.choices[0]?.message.content).toMatch(/^Echo: latest \[/);
  });

  it('rejects an unknown or malformed directive with 400 before it reaches the model', async () => {
    const sim = await startTestSim();
    for (const bad of [
      '[sim:explode]',
      '[sim:status=abc]',
      '[sim:status=200]',
      '[sim:fail=503y2]',
      '[sim:hang=1]',
    ]) {
      const response = await postJson(sim, '/chat/completions', chatBody(`x ${bad}`));
      expect(response.status).toBe(400);
      const body = (await response.json()) as { error: { message: string; param: string } };
      expect(body.error.message).toContain(`Invalid simulator directive ${bad}`);
      expect(body.error.param).toBe('messages');
    }
    expect(sim.calls().count).toBe(0);
  });

  it('applies directives in embedding inputs too', async () => {
    const sim = await startTestSim();
    const response = await postJson(sim, '/embeddings', {
      model: 'text-embedding-3-small',
      input: ['fine', 'boom [sim:status=502]'],
    });
    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({ error: { type: 'server_error' } });
  });
});
