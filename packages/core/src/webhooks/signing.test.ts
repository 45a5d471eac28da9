import OpenAI from 'openai';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { newWebhookSecret, signWebhook } from './signing.js';

describe('signWebhook', () => {
  const body = JSON.stringify({
    type: 'request.completed',
    timestamp: new Date().toISOString(),
    data: { id: 'req_1' },
  });

  it('produces headers the standardwebhooks package verifies', () => {
    const secret = newWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const headers = signWebhook('msg_1', new Date(), body, [secret]);
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(newWebhookSecret()).verify(body, headers)).toThrow();
    expect(() => new Webhook(secret).verify(`${body} `, headers)).toThrow();
  });

  it('signs with every active secret during a rotation; either verifies', () => {
    const [oldSecret, newSecret] = [newWebhookSecret(), newWebhookSecret()];
    const headers = signWebhook('msg_2', new Date(), body, [newSecret, oldSecret]);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(new Webhook(oldSecret).verify(body, headers)).toBeTruthy();
    expect(new Webhook(newSecret).verify(body, headers)).toBeTruthy();
  });

  it("is accepted by the openai SDK's webhook verifier", async () => {
    const secret = newWebhookSecret();
    const headers = signWebhook('msg_3', new Date(), body, [secret]);
    const client = new OpenAI({ apiKey: 'unused', webhookSecret: secret });
    await expect(client.webhooks.verifySignature(body, headers, secret)).resolves.toBeUndefined();
    await expect(
      client.webhooks.verifySignature(body.replace('req_1', 'req_2'), headers, secret),
    ).rejects.toThrow();
  });
});
