import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { chatAnswerText, promptHash } from '../src/index.js';
import { caught, chatBody, MODEL, postJson, sdk, startTestSim } from './harness.js';

describe('POST /v1/chat/completions', () => {
  it('answers a deterministic echo that identifies the request', async () => {
    const sim = await startTestSim();
    const client = sdk(sim);
    const ask = (content: string, model = MODEL) =>
      client.chat.completions.create({ model, messages: [{ role: 'user', content }] });

    const first = await ask('hello there');
    const again = await ask('hello there');
    const other = await ask('something else');
    const otherModel = await ask('hello there', 'gpt-4o');

    const hash = promptHash(MODEL, [{ role: 'user', content: 'hello there' }]);
    expect(first.choices[0]?.message.content).toBe(`Echo: hello there [${hash.slice(0, 8)}]`);
    expect(first.choices[0]?.message.content).toBe(
      chatAnswerText(MODEL, [{ role: 'user', content: 'hello there' }]),
    );
    expect(again.choices[0]?.message.content).toBe(first.choices[0]?.message.content);
    expect(other.choices[0]?.message.content).toMatch(/^Echo: something else \[[0-9a-f]{8}\]$/);
    expect(otherModel.choices[0]?.message.content).not.toBe(first.choices[0]?.message.content);
    expect(otherModel.model).toBe('gpt-4o');
    expect(first.id).not.toBe(again.id);
  });

  it('returns the chat.completion shape with usage', async () => {
    const sim = await startTestSim();
    const completion = await sdk(sim).chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'hello there' }],
    });
    expect(completion).toMatchObject({
      object: 'chat.completion',
      model: MODEL,
      choices: [
        { index: 0, message: { role: 'assistant', refusal: null }, finish_reason: 'stop', logprobs: null },
      ],
    });
    expect(completion.id).toMatch(/^chatcmpl-[0-9a-f]{24}$/);
    expect(Math.abs(completion.created - Date.now() / 1000)).toBeLessThan(5);
    // 3 (priming) + 3 (framing) + 1 ("user") + 2 ("hello there").
    expect(completion.usage?.prompt_tokens).toBe(9);
    // "Echo: hello there [xxxxxxxx]" in o200k_base.
    expect(completion.usage?.completion_tokens).toBeGreaterThan(5);
    expect(completion.usage?.total_tokens).toBe(
      (completion.usage?.prompt_tokens ?? 0) + (completion.usage?.completion_tokens ?? 0),
    );
  });

  it('reads text parts, uses the last user message and counts every message', async () => {
    const sim = await startTestSim();
    const completion = await sdk(sim).chat.completions.create({
      model: MODEL,
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'first question' },
        { role: 'assistant', content: 'first answer' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'second' },
            { type: 'text', text: 'question' },
          ],
        },
      ],
    });
    expect(completion.choices[0]?.message.content).toMatch(/^Echo: second\nquestion \[[0-9a-f]{8}\]$/);
    expect(completion.usage?.prompt_tokens).toBeGreaterThan(9 + 3 * 4);
  });

  it('never exceeds max_tokens / max_completion_tokens and reports finish_reason length', async () => {
    const sim = await startTestSim();
    const client = sdk(sim);
    const long = 'a long prompt that will not fit in three tokens of output';
    const viaMaxTokens = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: long }],
      max_tokens: 3,
    });
    expect(viaMaxTokens.choices[0]?.finish_reason).toBe('length');
    expect(viaMaxTokens.usage?.completion_tokens).toBe(3);
    expect(viaMaxTokens.choices[0]?.message.content).toBe('Echo: a');

    const viaMaxCompletion = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: long }],
      max_completion_tokens: 5,
      max_tokens: 100,
    });
    expect(viaMaxCompletion.usage?.completion_tokens).toBe(5);
    expect(viaMaxCompletion.choices[0]?.finish_reason).toBe('length');

    const roomy = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: long }],
      max_completion_tokens: 1000,
    });
    expect(roomy.choices[0]?.finish_reason).toBe('stop');
  });

  it('returns n identical choices and counts their tokens', async () => {
    const sim = await startTestSim();
    const one = await sdk(sim).chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'x' }],
    });
    const two = await sdk(sim).chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'x' }],
      n: 2,
    });
    expect(two.choices.map((choice) => choice.index)).toEqual([0, 1]);
    expect(two.choices[1]?.message.content).toBe(one.choices[0]?.message.content);
    expect(two.usage?.completion_tokens).toBe(2 * (one.usage?.completion_tokens ?? 0));
  });

  it('sends x-request-id, openai-processing-ms and exposes the request id to the SDK', async () => {
    const sim = await startTestSim({ latencyMs: 30 });
    const { response, request_id } = await sdk(sim)
      .chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    const requestId = response.headers.get('x-request-id');
    expect(requestId).toMatch(/^req_[0-9a-f]{24}$/);
    expect(request_id).toBe(requestId);
    const processingMs = Number(response.headers.get('openai-processing-ms'));
    expect(Number.isInteger(processingMs)).toBe(true);
    expect(processingMs).toBeGreaterThanOrEqual(30);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  });

  it('rejects stream: true with invalid_request_error', async () => {
    const sim = await startTestSim();
    const error = await caught(() =>
      sdk(sim).chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: 'x' }],
        stream: true,
      }),
    );
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error).toMatchObject({ status: 400, type: 'invalid_request_error', param: 'stream' });
    expect(sim.calls().count).toBe(0);
  });

  it('requires a bearer token, and the configured key when there is one', async () => {
    const open = await startTestSim();
    const missing = await postJson(open, '/chat/completions', chatBody('x'), { apiKey: null });
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({
      error: { type: 'invalid_request_error', code: null, param: null },
    });
    expect(missing.headers.get('x-request-id')).toMatch(/^req_/);
    expect(missing.headers.get('x-ratelimit-limit-requests')).toBeNull();

    const locked = await startTestSim({ apiKey: 'sk-right-key-123' });
    const wrong = await caught(() =>
      sdk(locked, 'sk-wrong-key-456').chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: 'x' }],
      }),
    );
    expect(wrong).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(wrong).toMatchObject({ status: 401, code: 'invalid_api_key' });
    expect((wrong as Error).message).not.toContain('sk-wrong-key-456');

    const right = await sdk(locked, 'sk-right-key-123').chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'x' }],
    });
    expect(right.choices[0]?.message.content).toMatch(/^Echo: x /);
    expect(locked.stats()).toMatchObject({ requests: 2, rejected: 1, completed: 1 });
  });
});

describe('GET /v1/models and /healthz', () => {
  it('lists models through the SDK and answers health checks without auth', async () => {
    const sim = await startTestSim({ models: ['gpt-4o-mini', 'my-model'] });
    const client = sdk(sim);
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toEqual(['gpt-4o-mini', 'my-model']);
    expect(await client.models.retrieve('my-model')).toMatchObject({ id: 'my-model', object: 'model' });
    expect(await caught(() => client.models.retrieve('nope'))).toBeInstanceOf(OpenAI.NotFoundError);

    const health = await fetch(`${sim.origin}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
  });
});
