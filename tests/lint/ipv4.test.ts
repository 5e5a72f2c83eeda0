import { describe, expect, test } from 'vitest';
import { contains, formatIpv4, formatRange, overlaps, parseCidr, parseIpv4, parsePoolEntry, reservedAddresses } from '../../core/net/ipv4.ts';

describe('ipv4 arithmetic', () => {
  test('parses and formats addresses', () => {
    expect(formatIpv4(parseIpv4('192.168.40.61')!)).toBe('192.168.40.61');
    expect(parseIpv4('255.255.255.255')).toBe(2 ** 32 - 1);
    for (const bad of ['192.168.40', '192.168.40.256', '192.168.040.1', 'a.b.c.d', '1.2.3.4.5', '']) expect(parseIpv4(bad)).toBeUndefined();
  });

  test('parses CIDRs, masking host bits', () => {
    const c = parseCidr('192.168.40.5/24')!;
    expect([formatIpv4(c.first), formatIpv4(c.last), formatIpv4(c.address), c.prefix]).toEqual(['192.168.40.0', '192.168.40.255', '192.168.40.5', 24]);
    expect(parseCidr('192.168.40.0/33')).toBeUndefined();
    expect(parseCidr('192.168.40.0')).toBeUndefined();
  });

  test('parses MetalLB pool entries: CIDR or range, not a bare address', () => {
    expect(formatRange(parsePoolEntry('192.168.40.70/32')!)).toBe('192.168.40.70');
    expect(formatRange(parsePoolEntry('192.168.40.70-192.168.40.79')!)).toBe('192.168.40.70-192.168.40.79');
    expect(parsePoolEntry('192.168.40.70')).toBeUndefined();
    expect(parsePoolEntry('192.168.40.79-192.168.40.70')).toBeUndefined();
  });

  test('containment, overlap and reserved addresses', () => {
    const subnet = parseCidr('192.168.40.0/24')!;
    expect(contains(subnet, parseIpv4('192.168.40.60')!)).toBe(true);
    expect(contains(subnet, parseIpv4('192.168.41.60')!)).toBe(false);
    expect(overlaps(parsePoolEntry('10.0.0.0/30')!, parsePoolEntry('10.0.0.3-10.0.0.9')!)).toBe(true);
    expect(overlaps(parsePoolEntry('10.0.0.0/30')!, parsePoolEntry('10.0.0.4/30')!)).toBe(false);
    expect(reservedAddresses(subnet)).toEqual({ network: subnet.first, broadcast: subnet.last });
    expect(reservedAddresses(parseCidr('10.0.0.0/31')!)).toEqual({});
  });
});
