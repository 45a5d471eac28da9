import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { verifyWebhook, type WebhookEvent, WebhookVerificationError } from '../src/index.js';

const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

const event = {
  type: 'request.completed',
  timestamp: new Date().toISOString(),
  data: { id: 'req_01jz0000000000000000000000', object: 'request', status: 'completed' },
};
const body = JSON.stringify(event);

/** Signs like a Sluice sender does: one `v1,…` per secret, space-separated. */
function sign(payload: string, secrets: string[], at = new Date(), id = 'msg_1'): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': secrets.map((s) => new Webhook(s).sign(id, at, payload)).join(' '),
  };
}

const rejects = (fn: () => unknown, message: RegExp) => {
  expect(fn).toThrow(WebhookVerificationError);
  expect(fn).toThrow(message);
};

describe('verifyWebhook', () => {
  it('returns the event of a validly signed payload', () => {
    const secret = newSecret();
    const verified: WebhookEvent = verifyWebhook(body, sign(body, [secret]), secret);
    expect(verified).toEqual(event);
    if (verified.type === 'request.completed') expect(verified.data.status).toBe('completed');
  });

  it('accepts a Buffer body and fetch Headers', () => {
    const secret = newSecret();
    const headers = new Headers(sign(body, [secret]));
    expect(verifyWebhook(Buffer.from(body), headers, secret)).toEqual(event);
  });

  it("accepts Node's req.headers (any header case)", () => {
    const secret = newSecret();
    const h = sign(body, [secret]);
    const nodeHeaders = {
      'Webhook-Id': h['webhook-id'],
      'webhook-timestamp': h['webhook-timestamp'],
      'webhook-signature': h['webhook-signature'],
      'content-type': 'application/json',
      'x-forwarded-for': ['10.0.0.1'],
      'x-absent': undefined,
    };
    expect(verifyWebhook(body, nodeHeaders, secret)).toEqual(event);
  });

  it('rejects a tampered body', () => {
    const secret = newSecret();
    const headers = sign(body, [secret]);
    rejects(
      () => verifyWebhook(body.replace('completed', 'cancelled'), headers, secret),
      /No matching signature/,
    );
    rejects(() => verifyWebhook(`${body} `, headers, secret), /No matching signature/);
  });

  it('rejects a signature made with another secret', () => {
    rejects(() => verifyWebhook(body, sign(body, [newSecret()]), newSecret()), /No matching signature/);
  });

  it('rejects a tampered id or timestamp (both are signed)', () => {
    const secret = newSecret();
    const headers = sign(body, [secret]);
    rejects(
      () => verifyWebhook(body, { ...headers, 'webhook-id': 'msg_2' }, secret),
      /No matching signature/,
    );
    const ts = String(Number(headers['webhook-timestamp']) - 1);
    rejects(
      () => verifyWebhook(body, { ...headers, 'webhook-timestamp': ts }, secret),
      /No matching signature/,
    );
  });

  it('during a rotation: succeeds when any of the known secrets matches any signature', () => {
    const [oldSecret, newSecretValue, unrelated] = [newSecret(), newSecret(), newSecret()];
    // The receiver knows both; the sender signs with the new one only, or with both.
    expect(verifyWebhook(body, sign(body, [newSecretValue]), [oldSecret, newSecretValue])).toEqual(event);
    expect(verifyWebhook(body, sign(body, [newSecretValue, oldSecret]), [oldSecret])).toEqual(event);
    rejects(() => verifyWebhook(body, sign(body, [unrelated]), [oldSecret, newSecretValue]), /No matching/);
  });

  it('rejects a stale or future timestamp, within a configurable tolerance', () => {
    const secret = newSecret();
    const tenMinutesAgo = new Date(Date.now() - 600_000);
    const stale = sign(body, [secret], tenMinutesAgo);
    rejects(() => verifyWebhook(body, stale, secret), /too old/);
    expect(verifyWebhook(body, stale, secret, { toleranceSeconds: 900 })).toEqual(event);

    const future = sign(body, [secret], new Date(Date.now() + 600_000));
    rejects(() => verifyWebhook(body, future, secret), /too new/);

    const twoMinutesAgo = sign(body, [secret], new Date(Date.now() - 120_000));
    expect(verifyWebhook(body, twoMinutesAgo, secret)).toEqual(event);
    rejects(() => verifyWebhook(body, twoMinutesAgo, secret, { toleranceSeconds: 60 }), /too old/);
  });

  it('rejects missing or malformed headers', () => {
    const secret = newSecret();
    const { 'webhook-signature': _, ...unsigned } = sign(body, [secret]);
    rejects(() => verifyWebhook(body, unsigned, secret), /Missing/);
    const headers = sign(body, [secret]);
    rejects(() => verifyWebhook(body, { ...headers, 'webhook-timestamp': '12abc' }, secret), /Invalid/);
    rejects(() => verifyWebhook(body, { ...headers, 'webhook-signature': 'v2,abc' }, secret), /No matching/);
  });

  it('rejects a validly signed body that is not an event', () => {
    const secret = newSecret();
    rejects(() => verifyWebhook('[1,2]', sign('[1,2]', [secret]), secret), /not a webhook event/);
    rejects(() => verifyWebhook('not json', sign('not json', [secret]), secret), /not JSON/);
  });

  it('refuses to run without a secret', () => {
    expect(() => verifyWebhook(body, sign(body, [newSecret()]), [])).toThrow(TypeError);
  });
});
