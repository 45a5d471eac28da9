import dns from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { isBlockedAddress } from './address.js';
import { hostnameOf } from './check-url.js';

/** Raised (or passed to the lookup callback) when an outbound connection would reach a blocked address. */
export class SsrfBlockedError extends Error {
  readonly code = 'ERR_SSRF_BLOCKED';

  constructor(
    readonly hostname: string,
    readonly address: string,
    readonly reason: string,
  ) {
    super(
      hostname === address
        ? `refusing to connect to ${address}: ${reason}`
        : `refusing to connect to ${hostname} (${address}): ${reason}`,
    );
    this.name = 'SsrfBlockedError';
  }
}

/** The all-addresses form of `dns.lookup`; `dns.lookup` itself satisfies it. */
export type LookupAll = (
  hostname: string,
  options: dns.LookupAllOptions,
  callback: (err: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]) => void,
) => void;

export interface GuardedLookupOptions {
  /** Allow private targets (`WEBHOOK_ALLOW_PRIVATE_NETWORKS`, default false); metadata stays blocked. */
  allowPrivate: boolean;
  /** Underlying resolver. Default: `dns.lookup`. */
  lookup?: LookupAll;
}

function notFound(hostname: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
  err.code = 'ENOTFOUND';
  return err;
}

/**
 * A `lookup` for `http.request`, `https.request` or `net.connect` that refuses
 * (error code `ERR_SSRF_BLOCKED`) when any resolved address is blocked. The check runs on the addresses
 * the socket then connects to, so a DNS answer that changed since registration (rebinding) is caught.
 * Node skips `lookup` for IP-literal hosts: call {@link assertConnectTarget} before connecting as well.
 */
export function createGuardedLookup(opts: GuardedLookupOptions): LookupFunction {
  const lookup: LookupAll = opts.lookup ?? dns.lookup;
  return (hostname, options, callback) => {
    lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const first = addresses[0];
      if (!first) return callback(notFound(hostname), []);
      for (const { address } of addresses) {
        const verdict = isBlockedAddress(address, { allowPrivate: opts.allowPrivate });
        if (verdict.blocked) {
          return callback(new SsrfBlockedError(hostname, address, verdict.reason ?? 'blocked address'), []);
        }
      }
      if (options.all) return callback(null, addresses);
      return callback(null, first.address, first.family);
    });
  };
}

/**
 * Throws {@link SsrfBlockedError} if `url` is not http(s) or its host is a blocked IP literal. Run it
 * right before connecting: Node does not call `lookup` for IP literals, so the guarded lookup never
 * sees them. Hostnames pass here and are checked by the guarded lookup at connect time.
 */
export function assertConnectTarget(url: URL, opts: { allowPrivate: boolean }): void {
  const host = hostnameOf(url);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new SsrfBlockedError(host, host, `scheme ${url.protocol} is not allowed`);
  }
  if (isIP(host) === 0) return;
  const verdict = isBlockedAddress(host, { allowPrivate: opts.allowPrivate });
  if (verdict.blocked) throw new SsrfBlockedError(host, host, verdict.reason ?? 'blocked address');
}
