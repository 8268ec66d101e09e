import { NetworkPolicy, PolicyError, ResolveError } from './network-policy';

const strict = new NetworkPolicy({ allowLoopback: false, allowPrivate: false });
const open = new NetworkPolicy({ allowLoopback: true, allowPrivate: true });

describe('NetworkPolicy', () => {
  it.each([
    '169.254.169.254',
    '::ffff:169.254.169.254',
    '::ffff:a9fe:a9fe',
    'fd00:ec2::254',
    'fe80::1',
    '0.0.0.0',
    '::',
    '224.0.0.1',
  ])('refuses %s even when loopback and private ranges are allowed', (address) => {
    expect(open.check(address).allowed).toBe(false);
  });

  it.each(['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1'])(
    'refuses loopback %s unless allowed',
    (address) => {
      expect(strict.check(address)).toEqual({
        allowed: false,
        reason:
          'a loopback address, which this deployment does not allow (DATASOURCE_ALLOW_LOOPBACK)',
      });
      expect(open.check(address)).toEqual({ allowed: true });
    },
  );

  it.each(['10.1.2.3', '172.16.0.9', '172.31.255.255', '192.168.1.1', '100.64.0.1', 'fd12::1'])(
    'refuses private %s unless allowed',
    (address) => {
      expect(strict.check(address).allowed).toBe(false);
      expect(open.check(address)).toEqual({ allowed: true });
    },
  );

  it.each(['8.8.8.8', '172.32.0.1', '2001:db8::1'])('allows public %s', (address) => {
    expect(strict.check(address)).toEqual({ allowed: true });
  });

  it.each(['2852039166', '0xa9.0xfe.0xa9.0xfe', '0251.0376.0251.0376', '169.254.169.254'])(
    'sees through the disguise %s once resolved: the metadata address is refused before any connection',
    async (host) => {
      await expect(open.resolve(host, 2_000)).rejects.toThrow(PolicyError);
      await expect(open.resolve(host, 2_000)).rejects.toThrow(
        /169\.254\.169\.254, a link-local address/,
      );
    },
  );

  it('names an IPv4-mapped address by the IPv4 address it maps', async () => {
    await expect(open.resolve('[::ffff:a9fe:a9fe]', 1_000)).rejects.toThrow(
      "'[::ffff:a9fe:a9fe]' is 169.254.169.254, a link-local address",
    );
  });

  it('refuses a bracketed IPv6 metadata literal', async () => {
    await expect(open.resolve('[fd00:ec2::254]', 1_000)).rejects.toThrow(PolicyError);
  });

  it('resolves localhost to loopback, refused by a strict policy and allowed by an open one', async () => {
    await expect(strict.resolve('localhost', 2_000)).rejects.toThrow(/loopback address/);
    expect(await open.resolve('localhost', 2_000)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^(127\.0\.0\.1|::1)$/)]),
    );
  });

  it('says plainly when a name does not resolve', async () => {
    const error = await open.resolve('no-such-host.invalid', 5_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResolveError);
    expect((error as Error).message).toBe("the host 'no-such-host.invalid' does not resolve");
  });
});
