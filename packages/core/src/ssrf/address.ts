import ipaddr from 'ipaddr.js';

type IPv4 = ipaddr.IPv4;
type IPv6 = ipaddr.IPv6;

/** Result of {@link isBlockedAddress}; `reason` is a human-readable phrase such as "loopback address". */
export interface AddressVerdict {
  blocked: boolean;
  reason?: string;
}

export interface AddressPolicy {
  /**
   * Let loopback, private, link-local and other non-public targets through, for local development
   * (`WEBHOOK_ALLOW_PRIVATE_NETWORKS`). Cloud metadata and unspecified addresses stay blocked. Default false.
   */
  allowPrivate?: boolean;
}

/**
 * Internal verdict. `always` marks addresses no setting may unblock: cloud metadata endpoints hand out
 * credentials, and 0.0.0.0 / :: connect to the local host on Linux.
 */
type Verdict = { blocked: false } | { blocked: true; reason: string; always: boolean };

/** Well-known cloud metadata and platform endpoints; several sit in ranges that are otherwise public. */
const METADATA: ReadonlyMap<string, string> = new Map([
  ['169.254.169.254', 'cloud metadata address (AWS, GCP, Azure, Oracle and others)'],
  ['169.254.170.2', 'cloud metadata address (AWS ECS task credentials)'],
  ['100.100.100.200', 'cloud metadata address (Alibaba Cloud)'],
  ['192.0.0.192', 'cloud metadata address (Oracle Cloud)'],
  ['168.63.129.16', 'cloud metadata address (Azure WireServer)'],
  ['fd00:ec2::254', 'cloud metadata address (AWS IPv6)'],
]);

/** Phrases for ipaddr.js `range()` names; anything not `unicast` is blocked, so unknown names fall back. */
const RANGE_REASONS: Readonly<Record<string, string>> = {
  unspecified: 'unspecified address',
  broadcast: 'broadcast address',
  multicast: 'multicast address',
  linkLocal: 'link-local address',
  loopback: 'loopback address',
  carrierGradeNat: 'carrier-grade NAT (shared, RFC 6598) address',
  private: 'private address',
  reserved: 'reserved or documentation address',
  benchmarking: 'benchmarking address',
  as112: 'AS112 DNS sink address',
  as112v6: 'AS112 DNS sink address',
  amt: 'AMT relay address',
  uniqueLocal: 'unique-local (private IPv6) address',
  deprecatedSiteLocal: 'site-local (private IPv6) address',
  discard: 'discard-only IPv6 address',
  ipv4Mapped: 'IPv4-mapped IPv6 address',
  rfc6145: 'IPv4-translated IPv6 address',
  rfc6052: 'NAT64 address',
  '6to4': '6to4 address',
  teredo: 'Teredo address',
};

const NAT64_WELL_KNOWN = ipaddr.IPv6.parseCIDR('64:ff9b::/96');
const IPV4_COMPATIBLE = ipaddr.IPv6.parseCIDR('::/96');
const GLOBAL_UNICAST = ipaddr.IPv6.parseCIDR('2000::/3');

function rangeReason(range: string): string {
  return RANGE_REASONS[range] ?? `special-purpose address (${range})`;
}

/** "a private address", "an unspecified address": for building sentences from reasons. */
export function withArticle(reason: string): string {
  return `${/^(?:[aeio]|un(?!i)|IPv|AS1|AMT)/.test(reason) ? 'an' : 'a'} ${reason}`;
}

function classifyV4(addr: IPv4): Verdict {
  const text = addr.toString();
  const metadata = METADATA.get(text);
  if (metadata) return { blocked: true, reason: metadata, always: true };
  const range = addr.range();
  if (range === 'unicast') return { blocked: false };
  return { blocked: true, reason: rangeReason(range), always: range === 'unspecified' };
}

function v4From(hi: number, lo: number): IPv4 {
  return new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
}

/** The IPv4 address an IPv6 transition address can reach, where the embedding is fixed by its range. */
function embeddedV4(addr: IPv6, range: string): IPv4 | undefined {
  const p = addr.parts;
  switch (range) {
    case 'ipv4Mapped':
    case 'rfc6145':
    case 'rfc6052':
      return v4From(p[6] ?? 0, p[7] ?? 0);
    case '6to4':
      return v4From(p[1] ?? 0, p[2] ?? 0);
    case 'teredo':
      // The client's public address, stored inverted; the relay (server) address is in parts 2-3.
      return v4From(~(p[6] ?? 0) & 0xffff, ~(p[7] ?? 0) & 0xffff);
    default:
      return undefined;
  }
}

function classifyV6(addr: IPv6): Verdict {
  const metadata = METADATA.get(addr.toString());
  if (metadata) return { blocked: true, reason: metadata, always: true };
  const range = addr.range() as string;
  if (range === 'unicast') {
    if (addr.match(IPV4_COMPATIBLE)) {
      // Deprecated IPv4-compatible form (::a.b.c.d); some stacks still tunnel it to IPv4.
      const inner = classifyV4(v4From(addr.parts[6] ?? 0, addr.parts[7] ?? 0));
      return { blocked: true, reason: 'IPv4-compatible IPv6 address', always: inner.blocked && inner.always };
    }
    if (!addr.match(GLOBAL_UNICAST)) {
      return { blocked: true, reason: 'unassigned IPv6 address (outside 2000::/3)', always: false };
    }
    return { blocked: false };
  }
  const inner = embeddedV4(addr, range);
  if (!inner) return { blocked: true, reason: rangeReason(range), always: range === 'unspecified' };
  const innerVerdict = classifyV4(inner);
  // Well-known-prefix NAT64 is how IPv6-only (DNS64) networks reach IPv4 hosts, so a public embedded
  // address is allowed. Every other transition form reaches IPv4 through relays or local translation
  // we cannot see, so it is refused outright.
  if (range === 'rfc6052' && addr.match(NAT64_WELL_KNOWN) && !innerVerdict.blocked) return { blocked: false };
  const reason = innerVerdict.blocked
    ? `${rangeReason(range)} embedding ${inner.toString()}, ${withArticle(innerVerdict.reason)}`
    : rangeReason(range);
  return { blocked: true, reason, always: innerVerdict.blocked && innerVerdict.always };
}

// ipaddr.js reads `::a.b.c.d` (IPv4-compatible) as IPv4-mapped; both are blocked, only the reason differs.
function parse(ip: string): IPv4 | IPv6 | undefined {
  const bare = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  return ipaddr.isValid(bare) ? ipaddr.parse(bare) : undefined;
}

/**
 * Whether an outbound connection to `ip` must be refused. Anything ipaddr.js does not classify as
 * plain `unicast` is blocked (loopback, private, link-local, CGNAT, multicast, unique-local, ...), plus
 * cloud metadata endpoints and IPv6 forms that embed an internal IPv4 address. Accepts `[v6]` brackets.
 */
export function isBlockedAddress(ip: string, policy: AddressPolicy = {}): AddressVerdict {
  const addr = parse(ip);
  if (!addr) return { blocked: true, reason: 'invalid IP address' };
  const verdict = addr.kind() === 'ipv4' ? classifyV4(addr as IPv4) : classifyV6(addr as IPv6);
  if (!verdict.blocked) return { blocked: false };
  if (policy.allowPrivate && !verdict.always) return { blocked: false };
  return { blocked: true, reason: verdict.reason };
}
