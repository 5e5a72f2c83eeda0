/** IPv4 arithmetic on unsigned 32-bit numbers: addresses, subnets and MetalLB ranges, for lint, the lab and the network guard. */

export interface Ipv4Range {
  first: number;
  last: number;
}

export interface Cidr extends Ipv4Range {
  /** the address as written, before the host bits are masked */
  address: number;
  prefix: number;
}

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

export function parseIpv4(text: string): number | undefined {
  const parts = text.trim().split('.');
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p))) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function parseCidr(text: string): Cidr | undefined {
  const [addr, prefixText, ...rest] = text.trim().split('/');
  if (rest.length || prefixText === undefined || !/^(3[0-2]|[12]?\d)$/.test(prefixText)) return undefined;
  const address = parseIpv4(addr);
  if (address === undefined) return undefined;
  const prefix = Number(prefixText);
  const size = 2 ** (32 - prefix);
  const first = address - (address % size);
  return { address, prefix, first, last: first + size - 1 };
}

/** A MetalLB pool entry: a CIDR or an inclusive range "a-b". A bare address is not accepted by MetalLB. */
export function parsePoolEntry(text: string): Ipv4Range | undefined {
  if (text.includes('/')) return parseCidr(text);
  const [a, b, ...rest] = text.split('-');
  if (b === undefined || rest.length) return undefined;
  const first = parseIpv4(a);
  const last = parseIpv4(b);
  if (first === undefined || last === undefined || first > last) return undefined;
  return { first, last };
}

export function contains(range: Ipv4Range, ip: number): boolean {
  return ip >= range.first && ip <= range.last;
}

export function overlaps(a: Ipv4Range, b: Ipv4Range): boolean {
  return a.first <= b.last && b.first <= a.last;
}

/** /31 and /32 have no network or broadcast address (RFC 3021); larger subnets reserve their first and last. */
export function reservedAddresses(subnet: Cidr): { network?: number; broadcast?: number } {
  return subnet.prefix >= 31 ? {} : { network: subnet.first, broadcast: subnet.last };
}

export function formatRange(r: Ipv4Range): string {
  return r.first === r.last ? formatIpv4(r.first) : `${formatIpv4(r.first)}-${formatIpv4(r.last)}`;
}

/** Whether `ip` lies inside `cidr`; false when either does not parse. */
export function ipv4InCidr(ip: string, cidr: string): boolean {
  const address = parseIpv4(ip);
  const range = parseCidr(cidr);
  return address !== undefined && range !== undefined && contains(range, address);
}
