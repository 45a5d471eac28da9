import { promises as dnsPromises } from 'node:dns';
import { isIP } from 'node:net';
import { isBlockedAddress, withArticle } from './address.js';

/** Longest webhook URL accepted, in characters. */
export const MAX_WEBHOOK_URL_LENGTH = 2048;

/** Resolves a hostname to every address it has. */
export type ResolveHostname = (hostname: string) => Promise<string[]>;

export interface WebhookUrlCheckOptions {
  /**
   * Allow loopback, private and other non-public targets and local names such as `localhost`
   * (`WEBHOOK_ALLOW_PRIVATE_NETWORKS`, default false). Cloud metadata and unspecified addresses stay blocked.
   */
  allowPrivate: boolean;
  /** Hostname resolver. Default: {@link resolveHostname}, i.e. `dns.promises.lookup` with `all: true`. */
  resolve?: ResolveHostname;
}

export type WebhookUrlCheck = { ok: true; url: URL } | { ok: false; message: string };

/** Every address the system resolver returns for `hostname`, in resolver order (what a connect would use). */
export async function resolveHostname(hostname: string): Promise<string[]> {
  const addresses = await dnsPromises.lookup(hostname, { all: true, verbatim: true });
  return addresses.map((a) => a.address);
}

/** The URL's host without IPv6 brackets or a trailing root dot (`localhost.` is `localhost`). */
export function hostnameOf(url: URL): string {
  const host = url.hostname;
  if (host.startsWith('[') && host.endsWith(']')) return host.slice(1, -1);
  return host.replace(/\.+$/, '');
}

/** Names that only mean something on the local machine or network. */
const LOCAL_SUFFIXES = ['.localhost', '.local', '.internal', '.home.arpa', '.localdomain'];

function localNameProblem(host: string): string | undefined {
  if (host === 'localhost' || LOCAL_SUFFIXES.some((suffix) => host.endsWith(suffix))) {
    return `webhook URL host ${host} is a local name; use a public hostname`;
  }
  // Single-label names resolve through search domains to internal hosts (e.g. `metadata`, `redis`).
  if (!host.includes('.')) {
    return `webhook URL host ${host} is not a fully qualified domain name; use a public hostname`;
  }
  return undefined;
}

/** inet_aton-style numeric labels (decimal, 0x-hex, octal) that WHATWG parsing should already have folded. */
const NUMERIC_LABEL = /^(?:0x[0-9a-f]*|[0-9]+)$/i;

const fail = (message: string): WebhookUrlCheck => ({ ok: false, message });

function addressProblem(address: string, verb: string, allowPrivate: boolean): string | undefined {
  const verdict = isBlockedAddress(address, { allowPrivate });
  if (!verdict.blocked) return undefined;
  const reason = verdict.reason ?? 'blocked address';
  const fix = reason.includes('cloud metadata') ? 'it is never allowed' : 'use a public endpoint';
  return `webhook URL ${verb} ${address}, ${withArticle(reason)}; ${fix}`;
}

/**
 * Checks a tenant-supplied webhook URL at registration: http(s) only, no credentials, a public host
 * whose every resolved address is public. Delivery must still connect through
 * {@link createGuardedLookup}, because DNS can change between registration and delivery.
 */
export async function checkWebhookUrl(input: string, opts: WebhookUrlCheckOptions): Promise<WebhookUrlCheck> {
  if (input.length > MAX_WEBHOOK_URL_LENGTH) {
    return fail(`webhook URL is longer than ${MAX_WEBHOOK_URL_LENGTH} characters; use a shorter URL`);
  }
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return fail('webhook URL is not a valid absolute URL; use a full https:// URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return fail(`webhook URL scheme ${url.protocol} is not allowed; use https:// (or http://)`);
  }
  if (url.username !== '' || url.password !== '') {
    return fail('webhook URL must not contain a username or password; remove the credentials before the @');
  }
  if (url.href.length > MAX_WEBHOOK_URL_LENGTH) {
    return fail(`webhook URL is longer than ${MAX_WEBHOOK_URL_LENGTH} characters; use a shorter URL`);
  }
  const host = hostnameOf(url);
  if (host === '') return fail('webhook URL has no hostname; use a full https:// URL');

  // WHATWG parsing has already turned 2130706433, 0177.0.0.1, 0x7f000001 and 127.1 into dotted quads.
  if (isIP(host) !== 0) {
    const problem = addressProblem(host, 'points to', opts.allowPrivate);
    return problem ? fail(problem) : { ok: true, url };
  }
  if (host.split('.').every((label) => NUMERIC_LABEL.test(label))) {
    return fail(`webhook URL host ${host} looks like a malformed IP address; use a hostname or dotted IPv4`);
  }
  if (!opts.allowPrivate) {
    const problem = localNameProblem(host);
    if (problem) return fail(problem);
  }

  const resolve = opts.resolve ?? resolveHostname;
  let addresses: string[];
  try {
    addresses = await resolve(host);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    return fail(
      `webhook URL host ${host} could not be resolved${code ? ` (${code})` : ''}; check the hostname`,
    );
  }
  if (addresses.length === 0) {
    return fail(`webhook URL host ${host} could not be resolved; check the hostname`);
  }
  // Refuse if ANY address is blocked: the connecting client may pick any of them.
  for (const address of addresses) {
    const problem = addressProblem(address, 'resolves to', opts.allowPrivate);
    if (problem) return fail(problem);
  }
  return { ok: true, url };
}
