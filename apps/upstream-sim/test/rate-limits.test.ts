import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { caught, chatBody, MODEL, manualClock, postJson, sdk, sleep, startTestSim } from './harness.js';

const GO_DURATION = /^(\d+h)?(\d+m)?\d+(\.\d+)?(ms|s)$|^0s$/;
const ask = (client: OpenAI, content = 'hello there', extra: { max_tokens?: number } = {}) =>
  client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content }], ...extra });

describe('rate limits', () => {
  it('sends well-formed x-ratelimit-* headers on success', async () => {
    const clock = manualClock();
    const sim = await startTestSim({ rpm: 100, tpm: 10_000, now: clock.now });
    const response = await postJson(sim, '/chat/completions', chatBody('hello there', { max_tokens: 91 }));
    expect(response.status).toBe(200);
    const h = response.headers;
    expect(h.get('x-ratelimit-limit-requests')).toBe('100');
    expect(h.get('x-ratelimit-remaining-requests')).toBe('99');
    expect(h.get('x-ratelimit-limit-tokens')).toBe('10000');
    // 9 prompt tokens + 91 max output = 100 charged.
    expect(h.get('x-ratelimit-remaining-tokens')).toBe('9900');
    // One request refills in 60000/100 ms; 100 tokens refill in 600 ms.
    expect(h.get('x-ratelimit-reset-requests')).toBe('600ms');
    expect(h.get('x-ratelimit-reset-tokens')).toBe('600ms');

    clock.advance(300);
    const later = await postJson(sim, '/chat/completions', chatBody('hello there', { max_tokens: 91 }));
    expect(later.headers.get('x-ratelimit-remaining-requests')).toBe('98');
    expect(later.headers.get('x-ratelimit-remaining-tokens')).toBe('9850');
    expect(later.headers.get('x-ratelimit-reset-requests')).toBe('900ms');
    expect(later.headers.get('x-ratelimit-reset-tokens')).toBe('900ms');

    clock.advance(3_600_000);
    const full = await postJson(sim, '/chat/completions', chatBody('hello there', { max_tokens: 9_991 }));
    expect(full.headers.get('x-ratelimit-remaining-tokens')).toBe('0');
    expect(full.headers.get('x-ratelimit-reset-tokens')).toBe('1m0s');
    expect(full.headers.get('x-ratelimit-reset-tokens')).toMatch(GO_DURATION);
  });

  it('omits the headers of a disabled budget', async () => {
    const sim = await startTestSim({ rpm: 5 });
    const response = await postJson(sim, '/chat/completions', chatBody('x'));
    expect(response.headers.get('x-ratelimit-limit-requests')).toBe('5');
    expect(response.headers.get('x-ratelimit-limit-tokens')).toBeNull();
    expect(response.headers.get('x-ratelimit-remaining-tokens')).toBeNull();
    expect(response.headers.get('x-ratelimit-reset-tokens')).toBeNull();
  });

  it('answers 429 on RPM exhaustion with retry hints and OpenAI body, then recovers after refill', async () => {
    // 1200 RPM over a 100 ms window: 2 requests of burst, one more every 50 ms.
    const sim = await startTestSim({ rpm: 1200, windowMs: 100 });
    const client = sdk(sim);
    await ask(client);
    await ask(client);
    const error = await caught(() => ask(client));
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const rateLimit = error as InstanceType<typeof OpenAI.RateLimitError>;
    expect(rateLimit.type).toBe('requests');
    expect(rateLimit.code).toBe('rate_limit_exceeded');
    expect(rateLimit.param).toBeNull();
    expect(rateLimit.error).toMatchObject({
      message: expect.stringMatching(
        /^Rate limit reached for gpt-4o-mini in organization org-sim on requests per min \(RPM\): Limit 2, Used 2, Requested 1\. Please try again in \d+ms\./,
      ),
    });
    const retryAfterMs = Number(rateLimit.headers?.get('retry-after-ms'));
    expect(retryAfterMs).toBeGreaterThan(0);
    expect(retryAfterMs).toBeLessThanOrEqual(50);
    expect(rateLimit.headers?.get('retry-after')).toBe('1');
    expect(rateLimit.headers?.get('x-ratelimit-limit-requests')).toBe('1200');
    expect(rateLimit.headers?.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(rateLimit.headers?.get('x-ratelimit-reset-requests')).toMatch(GO_DURATION);
    expect(rateLimit.headers?.get('x-request-id')).toMatch(/^req_/);

    await sleep(retryAfterMs + 5);
    const recovered = await ask(client);
    expect(recovered.choices[0]?.message.content).toMatch(/^Echo: hello there/);
    expect(sim.stats()).toMatchObject({ requests: 4, completed: 3, rateLimited: 1 });
  });

  it('answers 429 on TPM exhaustion, naming the token budget, without charging the rejected request', async () => {
    const clock = manualClock();
    const sim = await startTestSim({ tpm: 1000, now: clock.now });
    const charge = { max_tokens: 400 }; // 9 prompt + 400 = 409 tokens
    const first = await postJson(sim, '/chat/completions', chatBody('hello there', charge));
    const second = await postJson(sim, '/chat/completions', chatBody('hello there', charge));
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.headers.get('x-ratelimit-remaining-tokens')).toBe('182');

    const third = await postJson(sim, '/chat/completions', chatBody('hello there', charge));
    expect(third.status).toBe(429);
    const body = (await third.json()) as { error: Record<string, unknown> };
    expect(body.error).toMatchObject({ type: 'tokens', code: 'rate_limit_exceeded', param: null });
    expect(body.error.message).toMatch(
      /^Rate limit reached for gpt-4o-mini in organization org-sim on tokens per min \(TPM\): Limit 1000, Used 818, Requested 409\. Please try again in 13\.\d+s\./,
    );
    // 227 tokens missing at 1000 per 60000 ms = 13.62 s.
    expect(body.error.message).toContain('Please try again in 13.62s.');
    expect(third.headers.get('retry-after-ms')).toBe('13620');
    expect(third.headers.get('retry-after')).toBe('14');
    expect(third.headers.get('x-ratelimit-remaining-tokens')).toBe('182');
    expect(third.headers.get('x-ratelimit-reset-tokens')).toBe('49.08s');

    // A smaller request still fits: the 429 took nothing.
    const small = await postJson(sim, '/chat/completions', chatBody('hello there', { max_tokens: 100 }));
    expect(small.status).toBe(200);

    // Once the advertised wait has passed, the original request fits again.
    clock.advance(13_620);
    const retried = await postJson(sim, '/chat/completions', chatBody('hello there', charge));
    expect(retried.status).toBe(429); // the small request above took 109 of the refill
    clock.advance(109 * 60);
    expect((await postJson(sim, '/chat/completions', chatBody('hello there', charge))).status).toBe(200);
  });

  it('charges default output tokens when no max is given', async () => {
    const sim = await startTestSim({ tpm: 10_000, defaultMaxTokens: 91 });
    const response = await postJson(sim, '/chat/completions', chatBody('hello there'));
    expect(response.headers.get('x-ratelimit-remaining-tokens')).toBe('9900');
  });

  it('answers "Request too large" with x-should-retry: false, which stops SDK retries', async () => {
    const sim = await startTestSim({ tpm: 1000 });
    const error = await caught(() => ask(sdk(sim, 'k', 2), 'hello there', { max_tokens: 2000 }));
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const tooLarge = error as InstanceType<typeof OpenAI.RateLimitError>;
    expect(tooLarge).toMatchObject({ status: 429, type: 'tokens', code: 'rate_limit_exceeded' });
    expect(tooLarge.error).toMatchObject({
      message: expect.stringMatching(
        /^Request too large for gpt-4o-mini in organization org-sim on tokens per min \(TPM\): Limit 1000, Requested 2009\./,
      ),
    });
    expect(tooLarge.headers?.get('x-should-retry')).toBe('false');
    expect(tooLarge.headers?.get('retry-after-ms')).toBeNull();
    // maxRetries was 2, yet only one request arrived.
    expect(sim.stats()).toMatchObject({ requests: 1, rateLimited: 1 });
  });

  it('caps bursts with a short window while reporting the per-minute limit', async () => {
    // 600 RPM enforced per second: 10 requests of burst.
    const sim = await startTestSim({ rpm: 600, windowMs: 1000, now: manualClock().now });
    const statuses = await Promise.all(
      Array.from({ length: 15 }, (_, i) =>
        postJson(sim, '/chat/completions', chatBody(`burst ${i}`)).then((r) => r.status),
      ),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(5);

    const rejected = await postJson(sim, '/chat/completions', chatBody('one more'));
    expect(rejected.status).toBe(429);
    expect(rejected.headers.get('x-ratelimit-limit-requests')).toBe('600');
    expect(rejected.headers.get('retry-after-ms')).toBe('100');
    const body = (await rejected.json()) as { error: { message: string } };
    expect(body.error.message).toContain('Limit 10, Used 10, Requested 1');
  });

  it('keeps budgets per API key', async () => {
    const sim = await startTestSim({ rpm: 1 });
    expect((await postJson(sim, '/chat/completions', chatBody('x'), { apiKey: 'a' })).status).toBe(200);
    expect((await postJson(sim, '/chat/completions', chatBody('x'), { apiKey: 'a' })).status).toBe(429);
    expect((await postJson(sim, '/chat/completions', chatBody('x'), { apiKey: 'b' })).status).toBe(200);
  });

  it('charges embeddings by input tokens', async () => {
    const sim = await startTestSim({ tpm: 100 });
    const response = await postJson(sim, '/embeddings', {
      model: 'text-embedding-3-small',
      input: 'hello there',
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-ratelimit-remaining-tokens')).toBe('98');
  });
});
