import type { LookupAddress } from 'node:dns';
import http from 'node:http';
import { type AddressInfo, isIP, type LookupFunction } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  assertConnectTarget,
  checkWebhookUrl,
  createGuardedLookup,
  type LookupAll,
  SsrfBlockedError,
} from './index.js';

/** A `dns.lookup` stand-in: each call takes the next answer (the last one repeats). No real DNS. */
function fakeLookup(answers: Record<string, string[][]>): LookupAll & { calls: string[] } {
  const calls: string[] = [];
  const lookup: LookupAll = (hostname, _options, callback) => {
    const list = answers[hostname] ?? [];
    const seen = calls.filter((h) => h === hostname).length;
    calls.push(hostname);
    const addresses = list[Math.min(seen, list.length - 1)];
    setImmediate(() => {
      if (!addresses) {
        callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
      } else {
        callback(
          null,
          addresses.map((address) => ({ address, family: isIP(address) })),
        );
      }
    });
  };
  return Object.assign(lookup, { calls });
}

/** Calls a LookupFunction and captures what it hands back. */
function callLookup(
  lookup: LookupFunction,
  hostname: string,
  all: boolean,
): Promise<{ err: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number }> {
  return new Promise((resolve) => {
    lookup(hostname, { all }, (err, address, family) => resolve({ err, address, family }));
  });
}

describe('createGuardedLookup', () => {
  it('returns every validated address when options.all is true', async () => {
    const lookup = createGuardedLookup({
      allowPrivate: false,
      lookup: fakeLookup({ 'hooks.example.com': [['93.184.216.34', '2606:4700:4700::1111']] }),
    });
    const { err, address } = await callLookup(lookup, 'hooks.example.com', true);
    expect(err).toBeNull();
    expect(address).toEqual([
      { address: '93.184.216.34', family: 4 },
      { address: '2606:4700:4700::1111', family: 6 },
    ]);
  });

  it('returns the first address and its family in the single-address form', async () => {
    const lookup = createGuardedLookup({
      allowPrivate: false,
      lookup: fakeLookup({ 'hooks.example.com': [['2606:4700:4700::1111', '93.184.216.34']] }),
    });
    expect(await callLookup(lookup, 'hooks.example.com', false)).toEqual({
      err: null,
      address: '2606:4700:4700::1111',
      family: 6,
    });
  });

  it.each([true, false])('refuses if any address is blocked (all: %s)', async (all) => {
    const lookup = createGuardedLookup({
      allowPrivate: false,
      lookup: fakeLookup({ 'mixed.example.com': [['93.184.216.34', '10.0.0.5']] }),
    });
    const { err } = await callLookup(lookup, 'mixed.example.com', all);
    expect(err).toBeInstanceOf(SsrfBlockedError);
    expect(err?.code).toBe('ERR_SSRF_BLOCKED');
    expect(err?.message).toBe('refusing to connect to mixed.example.com (10.0.0.5): private address');
  });

  it('keeps blocking cloud metadata with allowPrivate', async () => {
    const lookup = createGuardedLookup({
      allowPrivate: true,
      lookup: fakeLookup({ 'meta.example.com': [['169.254.169.254']], 'dev.example.com': [['10.0.0.5']] }),
    });
    expect((await callLookup(lookup, 'meta.example.com', true)).err?.code).toBe('ERR_SSRF_BLOCKED');
    expect((await callLookup(lookup, 'dev.example.com', true)).err).toBeNull();
  });

  it('passes resolver errors through and treats an empty answer as not found', async () => {
    const lookup = createGuardedLookup({
      allowPrivate: false,
      lookup: fakeLookup({ 'empty.example.com': [[]] }),
    });
    expect((await callLookup(lookup, 'nowhere.example.com', true)).err?.code).toBe('ENOTFOUND');
    expect((await callLookup(lookup, 'empty.example.com', false)).err?.code).toBe('ENOTFOUND');
  });

  it('uses dns.lookup by default (checked with an IP literal, which needs no network)', async () => {
    const lookup = createGuardedLookup({ allowPrivate: false });
    expect((await callLookup(lookup, '127.0.0.1', true)).err?.code).toBe('ERR_SSRF_BLOCKED');
    expect((await callLookup(lookup, '8.8.8.8', false)).address).toBe('8.8.8.8');
  });
});

describe('guarded lookup with a real http.request', () => {
  let server: http.Server;
  let port = 0;
  let requests = 0;
  let connections = 0;

  beforeAll(async () => {
    server = http.createServer((_req, res) => {
      requests++;
      res.end('ok');
    });
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  beforeEach(() => {
    requests = 0;
    connections = 0;
  });

  function get(url: string, options: http.RequestOptions): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = http.request(url, { ...options, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      req.end();
    });
  }

  const mapped = () => fakeLookup({ 'hooks.example.test': [['127.0.0.1']] });

  // family unset: Node's autoSelectFamily asks for all addresses; family 4: the single-address form.
  it.each([undefined, 4] as const)(
    'refuses a name mapped to 127.0.0.1 when allowPrivate=false, family %s',
    async (family) => {
      const lookup = createGuardedLookup({ allowPrivate: false, lookup: mapped() });
      const error = await get(`http://hooks.example.test:${port}/`, { lookup, family }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(SsrfBlockedError);
      expect((error as SsrfBlockedError).code).toBe('ERR_SSRF_BLOCKED');
      expect(connections).toBe(0);
      expect(requests).toBe(0);
    },
  );

  it.each([undefined, 4] as const)('delivers to it when allowPrivate=true, family %s', async (family) => {
    const lookup = createGuardedLookup({ allowPrivate: true, lookup: mapped() });
    expect(await get(`http://hooks.example.test:${port}/`, { lookup, family })).toBe('ok');
    expect(requests).toBe(1);
  });

  it('catches DNS rebinding: public at registration, loopback at delivery', async () => {
    const rebinding = fakeLookup({ 'rebind.example.com': [['93.184.216.34'], ['127.0.0.1']] });
    const resolve = (host: string) =>
      new Promise<string[]>((ok, fail) =>
        rebinding(host, { all: true }, (err, addresses) =>
          err ? fail(err) : ok(addresses.map((a) => a.address)),
        ),
      );
    const url = `http://rebind.example.com:${port}/hook`;

    const registered = await checkWebhookUrl(url, { allowPrivate: false, resolve });
    expect(registered.ok).toBe(true);

    const lookup = createGuardedLookup({ allowPrivate: false, lookup: rebinding });
    const error = await get(url, { lookup }).catch((e: unknown) => e);
    expect((error as SsrfBlockedError).code).toBe('ERR_SSRF_BLOCKED');
    expect((error as SsrfBlockedError).address).toBe('127.0.0.1');
    expect(rebinding.calls).toEqual(['rebind.example.com', 'rebind.example.com']);
    expect(requests).toBe(0);
    expect(connections).toBe(0);
  });

  it('is skipped by Node for IP-literal hosts, which is why assertConnectTarget exists', async () => {
    const lookup = createGuardedLookup({ allowPrivate: false, lookup: mapped() });
    const url = new URL(`http://127.0.0.1:${port}/`);
    expect(await get(url.href, { lookup })).toBe('ok');
    expect(() => assertConnectTarget(url, { allowPrivate: false })).toThrow(SsrfBlockedError);
  });
});

describe('assertConnectTarget', () => {
  const strict = { allowPrivate: false };

  it('throws for blocked IP literals and passes public ones', () => {
    expect(() => assertConnectTarget(new URL('http://127.0.0.1:8080/'), strict)).toThrow(
      'refusing to connect to 127.0.0.1: loopback address',
    );
    expect(() => assertConnectTarget(new URL('http://[::ffff:10.0.0.1]/'), strict)).toThrow(
      /embedding 10\.0\.0\.1/,
    );
    expect(() => assertConnectTarget(new URL('http://0x7f000001/'), strict)).toThrow(SsrfBlockedError);
    expect(() => assertConnectTarget(new URL('https://93.184.216.34/'), strict)).not.toThrow();
    expect(() => assertConnectTarget(new URL('https://[2606:4700:4700::1111]/'), strict)).not.toThrow();
  });

  it('leaves hostnames to the guarded lookup and refuses other schemes', () => {
    expect(() => assertConnectTarget(new URL('https://hooks.example.com/'), strict)).not.toThrow();
    expect(() => assertConnectTarget(new URL('ftp://93.184.216.34/'), strict)).toThrow(
      'scheme ftp: is not allowed',
    );
  });

  it('with allowPrivate lets loopback through but not cloud metadata', () => {
    const dev = { allowPrivate: true };
    expect(() => assertConnectTarget(new URL('http://127.0.0.1:3000/'), dev)).not.toThrow();
    expect(() => assertConnectTarget(new URL('http://169.254.169.254/'), dev)).toThrow(/cloud metadata/);
    expect(() => assertConnectTarget(new URL('http://0.0.0.0:3000/'), dev)).toThrow(/unspecified/);
  });
});
