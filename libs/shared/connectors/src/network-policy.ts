import { BlockList, isIP, type LookupFunction } from 'node:net';
import { lookup } from 'node:dns/promises';
import { withDeadline } from './deadline';

export interface NetworkPolicyOptions {
  /** 127.0.0.0/8 and ::1: only where the operator says so (a laptop, the tests). */
  allowLoopback: boolean;
  /** RFC 1918, CGNAT and unique-local ranges: the operator decides. */
  allowPrivate: boolean;
}

export type AddressVerdict = { allowed: true } | { allowed: false; reason: string };

/** Never reachable, whatever the operator allows: metadata services and what is not a host. */
const ALWAYS_DENIED: [string, number, 'ipv4' | 'ipv6', string][] = [
  ['169.254.0.0', 16, 'ipv4', 'a link-local address (cloud metadata services live there)'],
  ['0.0.0.0', 8, 'ipv4', 'not a host address'],
  ['224.0.0.0', 4, 'ipv4', 'a multicast address'],
  ['240.0.0.0', 4, 'ipv4', 'a reserved address'],
  ['fe80::', 10, 'ipv6', 'a link-local address'],
  ['fd00:ec2::', 32, 'ipv6', 'a cloud metadata address'],
  ['ff00::', 8, 'ipv6', 'a multicast address'],
  ['::', 128, 'ipv6', 'not a host address'],
];
const LOOPBACK: [string, number, 'ipv4' | 'ipv6'][] = [
  ['127.0.0.0', 8, 'ipv4'],
  ['::1', 128, 'ipv6'],
];
const PRIVATE: [string, number, 'ipv4' | 'ipv6'][] = [
  ['10.0.0.0', 8, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['fc00::', 7, 'ipv6'],
];

/**
 * Which addresses data-source connections may reach (SSRF). Decided on the
 * resolved address, never the name: `metadata.internal`, `2852039166`,
 * `0xa9.0xfe.0xa9.0xfe` and `::ffff:169.254.169.254` are all 169.254.169.254
 * once resolved. The caller connects to the address checked, so a second DNS
 * answer cannot change it (rebinding).
 */
export class NetworkPolicy {
  private readonly denied = new Map<string, BlockList>();

  constructor(private readonly options: NetworkPolicyOptions) {
    for (const [network, prefix, type, reason] of ALWAYS_DENIED)
      this.deny(reason, network, prefix, type);
    if (!options.allowLoopback) {
      for (const [network, prefix, type] of LOOPBACK) {
        this.deny(
          'a loopback address, which this deployment does not allow (DATASOURCE_ALLOW_LOOPBACK)',
          network,
          prefix,
          type,
        );
      }
    }
    if (!options.allowPrivate) {
      for (const [network, prefix, type] of PRIVATE) {
        this.deny(
          'a private-network address, which this deployment does not allow (DATASOURCE_ALLOW_PRIVATE)',
          network,
          prefix,
          type,
        );
      }
    }
  }

  check(address: string): AddressVerdict {
    const family = isIP(address);
    if (family === 0) return { allowed: false, reason: 'not an IP address' };
    // An IPv4-mapped IPv6 address is the IPv4 address it maps.
    const mapped = mappedIPv4(address);
    const [value, type] = mapped
      ? [mapped, 'ipv4' as const]
      : [address, family === 4 ? ('ipv4' as const) : ('ipv6' as const)];
    for (const [reason, list] of this.denied) {
      if (list.check(value, type)) return { allowed: false, reason };
    }
    return { allowed: true };
  }

  /**
   * The addresses `host` resolves to, each allowed; throws a PolicyError
   * naming the first refused one (and why), or a ResolveError.
   */
  async resolve(host: string, timeoutMs: number): Promise<string[]> {
    const bare = host.replace(/^\[(.*)\]$/, '$1');
    let addresses: string[];
    if (isIP(bare)) {
      addresses = [bare];
    } else {
      const answers = await withDeadline(
        lookup(bare, { all: true, verbatim: true }),
        timeoutMs,
        () => Object.assign(new Error('timeout'), { code: 'TIMEOUT' }),
      ).catch((error: unknown) => {
        throw new ResolveError(host, error);
      });
      addresses = answers.map((a) => a.address);
    }
    for (const address of addresses) {
      const verdict = this.check(address);
      if (!verdict.allowed)
        throw new PolicyError(host, mappedIPv4(address) ?? address, verdict.reason);
    }
    return addresses;
  }

  /**
   * A `lookup` for HTTP agents and sockets: resolves like `dns.lookup`, but
   * only ever hands over an address the policy allows, at every connection
   * the client makes (so a second DNS answer cannot point it elsewhere).
   */
  lookupFunction(timeoutMs: number): LookupFunction {
    return (hostname, options, callback) => {
      this.resolve(hostname, timeoutMs).then(
        (addresses) => {
          const all = typeof options === 'object' && options !== null && options.all === true;
          const entries = addresses.map((address) => ({ address, family: isIP(address) }));
          if (all) callback(null, entries);
          else callback(null, entries[0]?.address ?? '', entries[0]?.family ?? 4);
        },
        (error: Error) => callback(Object.assign(error, { code: 'ENOTFOUND' }), '', 4),
      );
    };
  }

  private deny(reason: string, network: string, prefix: number, type: 'ipv4' | 'ipv6'): void {
    let list = this.denied.get(reason);
    if (!list) {
      list = new BlockList();
      this.denied.set(reason, list);
    }
    list.addSubnet(network, prefix, type);
  }
}

/** The IPv4 address an IPv4-mapped IPv6 address (`::ffff:a.b.c.d` or `::ffff:a9fe:a9fe`) maps. */
function mappedIPv4(address: string): string | undefined {
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (dotted) return dotted;
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (!hex?.[1] || !hex[2]) return undefined;
  const high = parseInt(hex[1], 16);
  const low = parseInt(hex[2], 16);
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

export class ResolveError extends Error {
  constructor(
    readonly host: string,
    cause: unknown,
  ) {
    const code = (cause as { code?: string })?.code;
    super(
      code === 'ENOTFOUND' || code === 'ENODATA'
        ? `the host '${host}' does not resolve`
        : code === 'TIMEOUT'
          ? `resolving '${host}' took too long`
          : `the host '${host}' could not be resolved`,
    );
    this.name = 'ResolveError';
  }
}

export class PolicyError extends Error {
  constructor(
    readonly host: string,
    readonly address: string,
    reason: string,
  ) {
    super(`'${host}' is ${address}, ${reason}: data sources may not connect there`);
    this.name = 'PolicyError';
  }
}
