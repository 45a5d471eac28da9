import { describe, expect, it } from 'vitest';
import { checkWebhookUrl, type ResolveHostname } from './index.js';

/** A resolver over a fixed table; unknown names fail like getaddrinfo does. No real DNS in tests. */
function resolver(table: Record<string, string[]>): ResolveHostname & { calls: string[] } {
  const calls: string[] = [];
  const resolve = async (host: string) => {
    calls.push(host);
    const addresses = table[host];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return addresses;
  };
  return Object.assign(resolve, { calls });
}

const strict = { allowPrivate: false, resolve: resolver({}) };

async function message(url: string, opts: Parameters<typeof checkWebhookUrl>[1] = strict): Promise<string> {
  const result = await checkWebhookUrl(url, opts);
  if (result.ok) throw new Error(`expected ${url} to be refused`);
  return result.message;
}

describe('checkWebhookUrl', () => {
  it('accepts public IP literals without resolving', async () => {
    const resolve = resolver({});
    for (const url of [
      'https://93.184.216.34/hooks',
      'http://8.8.8.8:8080/x',
      'https://[2606:4700:4700::1111]/',
    ]) {
      const result = await checkWebhookUrl(url, { allowPrivate: false, resolve });
      expect(result.ok, url).toBe(true);
    }
    expect(resolve.calls).toEqual([]);
  });

  it('accepts a name that resolves only to public addresses and returns the parsed URL', async () => {
    const resolve = resolver({
      'hooks.example.com': ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946'],
    });
    const result = await checkWebhookUrl('https://Hooks.Example.com/sluice?x=1', {
      allowPrivate: false,
      resolve,
    });
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.url.href).toBe('https://hooks.example.com/sluice?x=1');
    expect(resolve.calls).toEqual(['hooks.example.com']);
  });

  it.each([
    ['http://2130706433/', 'decimal'],
    ['http://0177.0.0.1/', 'octal'],
    ['http://0x7f000001/', 'hex'],
    ['http://0x7f.0.0.1/', 'hex octet'],
    ['http://127.1/', 'short'],
    ['http://0177.1/', 'short octal'],
    ['http://127.0.0.1./', 'trailing dot'],
    ['http://%31%32%37.0.0.1/', 'percent-encoded'],
    ['http://１２７.０.０.１/', 'full-width digits'],
  ])('normalises %s (%s) to 127.0.0.1 and refuses it', async (url) => {
    expect(new URL(url).hostname).toBe('127.0.0.1');
    expect(await message(url)).toBe(
      'webhook URL points to 127.0.0.1, a loopback address; use a public endpoint',
    );
  });

  it('refuses odd spellings of private and metadata addresses', async () => {
    expect(await message('http://167772161/')).toContain('10.0.0.1, a private address');
    expect(await message('http://0xa9fea9fe/')).toContain('169.254.169.254, a cloud metadata address');
    expect(await message('http://0/')).toContain('0.0.0.0, an unspecified address');
  });

  it('refuses IPv6 literals that reach internal IPv4', async () => {
    expect(await message('http://[::ffff:127.0.0.1]/')).toContain(
      'IPv4-mapped IPv6 address embedding 127.0.0.1',
    );
    expect(await message('http://[::ffff:7f00:1]/')).toContain(
      'IPv4-mapped IPv6 address embedding 127.0.0.1',
    );
    expect(await message('http://[64:ff9b::10.0.0.1]/')).toContain('NAT64 address embedding 10.0.0.1');
    expect(await message('http://[::1]:8080/')).toBe(
      'webhook URL points to ::1, a loopback address; use a public endpoint',
    );
    expect(await message('http://[fd00:ec2::254]/')).toContain('cloud metadata');
  });

  it.each([
    ['ftp://example.com/', 'scheme ftp: is not allowed'],
    ['javascript:alert(1)', 'scheme javascript: is not allowed'],
    ['file:///etc/passwd', 'scheme file: is not allowed'],
    ['gopher://example.com:6379/_INFO', 'scheme gopher: is not allowed'],
    ['http://user:pw@example.com/', 'must not contain a username or password'],
    ['http://user@example.com/', 'must not contain a username or password'],
    ['http://:pw@example.com/', 'must not contain a username or password'],
    ['not a url', 'not a valid absolute URL'],
    ['/relative/path', 'not a valid absolute URL'],
    ['http://1.2.3.4.5/', 'not a valid absolute URL'],
    [`https://example.com/${'a'.repeat(2048)}`, 'longer than 2048 characters'],
  ])('refuses %s', async (url, expected) => {
    expect(await message(url)).toContain(expected);
  });

  it.each([
    'http://localhost/',
    'http://LOCALHOST:3000/',
    'http://localhost./',
    'http://api.localhost/',
    'http://printer.local/',
    'http://metadata.google.internal/computeMetadata/v1/',
    'http://router.home.arpa/',
  ])('refuses the local name in %s without resolving it', async (url) => {
    const resolve = resolver({});
    expect(await message(url, { allowPrivate: false, resolve })).toMatch(
      /is a local name; use a public hostname$/,
    );
    expect(resolve.calls).toEqual([]);
  });

  it('refuses single-label names, which resolve through search domains', async () => {
    expect(await message('http://metadata/')).toContain('not a fully qualified domain name');
    expect(await message('http://redis:6379/')).toContain('not a fully qualified domain name');
  });

  it('refuses a name if ANY resolved address is blocked', async () => {
    const resolve = resolver({ 'mixed.example.com': ['93.184.216.34', '10.0.0.5'] });
    expect(await message('https://mixed.example.com/', { allowPrivate: false, resolve })).toBe(
      'webhook URL resolves to 10.0.0.5, a private address; use a public endpoint',
    );
  });

  it('refuses names resolving to metadata, IPv4-mapped or NAT64-private addresses', async () => {
    const resolve = resolver({
      'meta.example.com': ['169.254.169.254'],
      'mapped.example.com': ['::ffff:192.168.0.1'],
      'nat64.example.com': ['64:ff9b::a00:1'],
    });
    const opts = { allowPrivate: false, resolve };
    expect(await message('https://meta.example.com/', opts)).toBe(
      'webhook URL resolves to 169.254.169.254, a cloud metadata address (AWS, GCP, Azure, Oracle and others); it is never allowed',
    );
    expect(await message('https://mapped.example.com/', opts)).toContain(
      'embedding 192.168.0.1, a private address',
    );
    expect(await message('https://nat64.example.com/', opts)).toContain(
      'embedding 10.0.0.1, a private address',
    );
  });

  it('refuses a host that does not resolve, with a clear message', async () => {
    expect(await message('https://nowhere.example.com/')).toBe(
      'webhook URL host nowhere.example.com could not be resolved (ENOTFOUND); check the hostname',
    );
    const empty = { allowPrivate: false, resolve: async () => [] };
    expect(await message('https://empty.example.com/', empty)).toBe(
      'webhook URL host empty.example.com could not be resolved; check the hostname',
    );
  });

  describe('with allowPrivate (WEBHOOK_ALLOW_PRIVATE_NETWORKS=true)', () => {
    const resolve = resolver({
      localhost: ['127.0.0.1', '::1'],
      'db.internal': ['10.0.0.5'],
      'meta.example.com': ['169.254.169.254'],
      'zero.example.com': ['0.0.0.0'],
    });
    const dev = { allowPrivate: true, resolve };

    it('lets loopback and private targets through', async () => {
      for (const url of [
        'http://127.0.0.1:3000/hook',
        'http://[::1]/',
        'http://localhost:3000/',
        'http://db.internal/',
      ]) {
        expect((await checkWebhookUrl(url, dev)).ok, url).toBe(true);
      }
    });

    it('still refuses cloud metadata and unspecified addresses', async () => {
      expect(await message('http://169.254.169.254/latest/meta-data/', dev)).toContain('cloud metadata');
      expect(await message('http://[fd00:ec2::254]/', dev)).toContain('cloud metadata');
      expect(await message('http://meta.example.com/', dev)).toContain('cloud metadata');
      expect(await message('http://0.0.0.0:3000/', dev)).toContain('unspecified address');
      expect(await message('http://[::]:3000/', dev)).toContain('unspecified address');
      expect(await message('http://zero.example.com/', dev)).toContain('unspecified address');
    });

    it('still refuses bad schemes and credentials', async () => {
      expect(await message('ftp://localhost/', dev)).toContain('scheme ftp:');
      expect(await message('http://a:b@localhost/', dev)).toContain('username or password');
    });
  });
});
