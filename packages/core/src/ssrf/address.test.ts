import { describe, expect, it } from 'vitest';
import { isBlockedAddress } from './index.js';

// [address, substring of the reason]
const BLOCKED: [string, string][] = [
  ['0.0.0.0', 'unspecified'],
  ['0.1.2.3', 'unspecified'],
  ['::', 'unspecified'],
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['::1', 'loopback'],
  ['10.0.0.5', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['192.168.1.1', 'private'],
  ['fc00::1', 'unique-local'],
  ['fd12:3456:789a::1', 'unique-local'],
  ['fec0::1', 'site-local'],
  ['169.254.1.1', 'link-local'],
  ['fe80::1', 'link-local'],
  ['fe80::1%eth0', 'link-local'],
  ['100.64.0.1', 'carrier-grade NAT'],
  ['100.127.255.254', 'carrier-grade NAT'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['ff02::1', 'multicast'],
  ['ff0e::1', 'multicast'],
  ['255.255.255.255', 'broadcast'],
  ['240.0.0.1', 'reserved'],
  ['192.0.2.1', 'reserved'],
  ['198.51.100.1', 'reserved'],
  ['203.0.113.1', 'reserved'],
  ['192.0.0.8', 'reserved'],
  ['2001:db8::1', 'reserved'],
  ['198.18.0.1', 'reserved'],
  ['100::1', 'discard'],
  ['4000::1', 'outside 2000::/3'],
  ['::1:0:0:1', 'outside 2000::/3'],
  // IPv6 forms that reach IPv4.
  ['::ffff:127.0.0.1', 'IPv4-mapped IPv6 address embedding 127.0.0.1, a loopback address'],
  ['::ffff:7f00:1', 'IPv4-mapped IPv6 address embedding 127.0.0.1'],
  ['::ffff:10.0.0.1', 'embedding 10.0.0.1, a private address'],
  ['::ffff:8.8.8.8', 'IPv4-mapped IPv6 address'],
  ['::ffff:0:10.0.0.1', 'IPv4-translated'],
  ['::7f00:1', 'IPv4-compatible'],
  ['::808:808', 'IPv4-compatible'],
  // ipaddr.js reads the dotted compatible form as IPv4-mapped; blocked either way.
  ['::127.0.0.1', 'embedding 127.0.0.1, a loopback address'],
  ['64:ff9b::10.0.0.1', 'NAT64 address embedding 10.0.0.1, a private address'],
  ['64:ff9b::7f00:1', 'NAT64 address embedding 127.0.0.1, a loopback address'],
  ['64:ff9b:1::a00:1', 'NAT64'],
  ['2002:7f00:1::1', '6to4 address embedding 127.0.0.1'],
  ['2002:a00:1::1', '6to4 address embedding 10.0.0.1'],
  ['2002:808:808::1', '6to4'],
  ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo'],
];

const METADATA = ['169.254.169.254', 'fd00:ec2::254', '169.254.170.2', '100.100.100.200', '192.0.0.192'];

const PUBLIC = [
  '8.8.8.8',
  '93.184.216.34',
  '1.1.1.1',
  '100.63.255.255', // just below CGNAT
  '172.32.0.1', // just above 172.16/12
  '2606:4700:4700::1111',
  '2001:4860:4860::8888',
  '64:ff9b::808:808', // DNS64 synthesis of 8.8.8.8: how IPv6-only networks reach IPv4 hosts
];

describe('isBlockedAddress', () => {
  it.each(BLOCKED)('blocks %s (%s)', (ip, reason) => {
    const verdict = isBlockedAddress(ip);
    expect(verdict.blocked).toBe(true);
    expect(verdict.reason).toContain(reason);
  });

  it.each(PUBLIC)('allows public %s', (ip) => {
    expect(isBlockedAddress(ip)).toEqual({ blocked: false });
  });

  it.each(METADATA)('blocks cloud metadata %s, even with allowPrivate', (ip) => {
    for (const allowPrivate of [false, true]) {
      const verdict = isBlockedAddress(ip, { allowPrivate });
      expect(verdict.blocked).toBe(true);
      expect(verdict.reason).toContain('cloud metadata');
    }
  });

  it('uses human-readable reasons', () => {
    expect(isBlockedAddress('127.0.0.1')).toEqual({ blocked: true, reason: 'loopback address' });
    expect(isBlockedAddress('10.1.2.3')).toEqual({ blocked: true, reason: 'private address' });
    expect(isBlockedAddress('::')).toEqual({ blocked: true, reason: 'unspecified address' });
  });

  it('accepts bracketed IPv6 and refuses what is not an address', () => {
    expect(isBlockedAddress('[::1]').reason).toBe('loopback address');
    for (const junk of ['', 'example.com', '1.2.3.4.5', '::g', '127.0.0.1:80']) {
      expect(isBlockedAddress(junk)).toEqual({ blocked: true, reason: 'invalid IP address' });
      expect(isBlockedAddress(junk, { allowPrivate: true }).blocked).toBe(true);
    }
  });

  describe('with allowPrivate', () => {
    it.each([
      '127.0.0.1',
      '::1',
      '10.0.0.5',
      '192.168.1.1',
      'fd12::1',
      '169.254.1.1',
      '100.64.0.1',
      '::ffff:127.0.0.1',
    ])('allows %s', (ip) => {
      expect(isBlockedAddress(ip, { allowPrivate: true })).toEqual({ blocked: false });
    });

    it.each([
      '0.0.0.0',
      '::',
      '::ffff:0.0.0.0',
      '::ffff:169.254.169.254',
      '64:ff9b::a9fe:a9fe',
      '2002:a9fe:a9fe::1',
    ])('still blocks %s', (ip) => {
      expect(isBlockedAddress(ip, { allowPrivate: true }).blocked).toBe(true);
    });
  });
});
