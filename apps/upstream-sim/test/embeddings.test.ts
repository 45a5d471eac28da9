import { describe, expect, it } from 'vitest';
import { embeddingVector } from '../src/index.js';
import { postJson, sdk, startTestSim } from './harness.js';

const MODEL = 'text-embedding-3-small';
const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((sum, x) => sum + x * x, 0));

describe('POST /v1/embeddings', () => {
  it('returns deterministic unit vectors through the SDK (base64 by default) and as floats', async () => {
    const sim = await startTestSim();
    const client = sdk(sim);
    const viaSdk = await client.embeddings.create({ model: MODEL, input: ['alpha', 'beta'] });
    const asFloats = await client.embeddings.create({
      model: MODEL,
      input: ['alpha', 'beta'],
      encoding_format: 'float',
    });

    expect(viaSdk).toMatchObject({ object: 'list', model: MODEL });
    expect(viaSdk.data.map((d) => [d.object, d.index])).toEqual([
      ['embedding', 0],
      ['embedding', 1],
    ]);
    const alpha = Array.from(viaSdk.data[0]?.embedding ?? []);
    expect(alpha).toHaveLength(8);
    expect(norm(alpha)).toBeCloseTo(1, 5);
    expect(asFloats.data[0]?.embedding).toEqual(alpha);
    expect(asFloats.data[0]?.embedding).toEqual(embeddingVector(MODEL, 'alpha', 8));
    expect(asFloats.data[1]?.embedding).not.toEqual(alpha);

    const again = await client.embeddings.create({ model: MODEL, input: 'alpha', encoding_format: 'float' });
    expect(again.data[0]?.embedding).toEqual(alpha);
    // "alpha" and "beta" are one token each in o200k_base.
    expect(viaSdk.usage).toEqual({ prompt_tokens: 2, total_tokens: 2 });
  });

  it('honours dimensions and the configured default dimension', async () => {
    const sim = await startTestSim({ embeddingDimensions: 4 });
    const client = sdk(sim);
    const byDefault = await client.embeddings.create({ model: MODEL, input: 'x', encoding_format: 'float' });
    const asked = await client.embeddings.create({
      model: MODEL,
      input: 'x',
      dimensions: 64,
      encoding_format: 'float',
    });
    expect(byDefault.data[0]?.embedding).toHaveLength(4);
    expect(asked.data[0]?.embedding).toHaveLength(64);
    expect(norm(asked.data[0]?.embedding ?? [])).toBeCloseTo(1, 5);
  });

  it('accepts pre-tokenized input and counts its tokens', async () => {
    const sim = await startTestSim();
    const response = await postJson(sim, '/embeddings', {
      model: MODEL,
      input: [
        [1, 2, 3],
        [4, 5],
      ],
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { data: unknown[]; usage: { prompt_tokens: number } };
    expect(body.data).toHaveLength(2);
    expect(body.usage.prompt_tokens).toBe(5);
  });

  it('rejects empty or mistyped input', async () => {
    const sim = await startTestSim();
    for (const input of ['', [], [''], [1.5], { text: 'x' }]) {
      const response = await postJson(sim, '/embeddings', { model: MODEL, input });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({
        error: { type: 'invalid_request_error', param: expect.stringMatching(/^input/) },
      });
    }
    const missing = await postJson(sim, '/embeddings', { model: MODEL });
    expect(await missing.json()).toMatchObject({
      error: { message: "Missing required parameter: 'input'." },
    });
  });
});
