import { describe, expect, it } from 'vitest';
import { chatBody, MODEL, postJson, startTestSim } from './harness.js';

describe('malformed requests', () => {
  it.each([
    ['not JSON', '{"model":', null, /could not parse the JSON body/],
    ['a JSON array', '[1,2]', null, /must be a JSON object/],
    [
      'missing model',
      { messages: [{ role: 'user', content: 'x' }] },
      'model',
      /Missing required parameter: 'model'/,
    ],
    ['empty messages', { model: MODEL, messages: [] }, 'messages', /Invalid value for 'messages'/],
    [
      'bad role',
      { model: MODEL, messages: [{ role: 'robot', content: 'x' }] },
      'messages[0].role',
      /Invalid value/,
    ],
    [
      'bad content',
      { model: MODEL, messages: [{ role: 'user', content: 5 }] },
      'messages[0].content',
      /Invalid/,
    ],
    ['max_tokens 0', chatBody('x', { max_tokens: 0 }), 'max_tokens', /Invalid value for 'max_tokens'/],
    ['non-integer n', chatBody('x', { n: 1.5 }), 'n', /Invalid value for 'n'/],
  ])('answers 400 invalid_request_error for %s', async (_name, body, param, message) => {
    const sim = await startTestSim({ rpm: 10 });
    const response = await postJson(sim, '/chat/completions', body);
    expect(response.status).toBe(400);
    const json = (await response.json()) as { error: Record<string, unknown> };
    expect(json.error).toMatchObject({ type: 'invalid_request_error', param, code: null });
    expect(json.error.message).toMatch(message);
    // Rejected requests carry the caller's budgets but are not charged.
    expect(response.headers.get('x-ratelimit-remaining-requests')).toBe('10');
    expect(sim.stats()).toMatchObject({ requests: 1, rejected: 1 });
  });

  it('answers 413 for a body over maxBodyBytes', async () => {
    const sim = await startTestSim({ maxBodyBytes: 1024 });
    const response = await postJson(sim, '/chat/completions', chatBody('x'.repeat(2048)));
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: { type: 'invalid_request_error' } });
  });

  it('answers unknown routes and methods with an OpenAI-shaped 404', async () => {
    const sim = await startTestSim();
    const unknown = await postJson(sim, '/completions-typo', chatBody('x'));
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({
      error: { message: 'Invalid URL (POST /v1/completions-typo)', type: 'invalid_request_error' },
    });
    const wrongMethod = await fetch(`${sim.url}/chat/completions`, {
      headers: { authorization: 'Bearer k' },
    });
    expect(wrongMethod.status).toBe(404);
  });

  it('survives hostile input and keeps serving', async () => {
    const sim = await startTestSim();
    const hostile = [
      chatBody('<|endoftext|> special tokens are plain text here'),
      chatBody('\u0000\uffff\ud800 broken surrogate'),
      {
        model: MODEL,
        messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }],
      },
      { model: MODEL, messages: [{ role: 'assistant', content: null, tool_calls: [] }] },
      { model: 'x'.repeat(10_000), messages: [{ role: 'user', content: 'y' }] },
    ];
    const statuses = await Promise.all(
      hostile.map(async (body) => (await postJson(sim, '/chat/completions', body)).status),
    );
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    const raw = await fetch(`${sim.url}/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer k', 'content-type': 'text/plain' },
      body: Buffer.from([0xff, 0xfe, 0x00, 0x7b]),
    });
    expect(raw.status).toBe(400);
    expect((await fetch(`${sim.origin}/healthz`)).status).toBe(200);
  });
});
