import { startLoopbackReceiver } from './loopback-receiver';

describe('startLoopbackReceiver', () => {
  it('listens on 127.0.0.1 on a port of its own, at /callback', async () => {
    const a = await startLoopbackReceiver('s1');
    const b = await startLoopbackReceiver('s2');
    try {
      expect(a.redirectUri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
      expect(a.redirectUri).not.toBe(b.redirectUri);
    } finally {
      a.close();
      b.close();
    }
  });

  it('ignores a redirect with another state, then takes the code of its own', async () => {
    const receiver = await startLoopbackReceiver('the-state');
    try {
      const forged = await fetch(`${receiver.redirectUri}?code=forged&state=other`);
      expect(forged.status).toBe(400);
      const elsewhere = await fetch(
        receiver.redirectUri.replace('/callback', '/x?code=c&state=the-state'),
      );
      expect(elsewhere.status).toBe(404);

      const real = await fetch(`${receiver.redirectUri}?code=the-code&state=the-state`);
      expect(real.status).toBe(200);
      expect(await real.text()).toContain('signed in to CloudFlow');
      await expect(receiver.result).resolves.toEqual({ ok: true, code: 'the-code' });
    } finally {
      receiver.close();
    }
  });

  it("reports the authorization server's refusal", async () => {
    const receiver = await startLoopbackReceiver('st');
    try {
      await fetch(
        `${receiver.redirectUri}?error=access_denied&error_description=the+user+denied+access&state=st`,
      );

      await expect(receiver.result).resolves.toEqual({
        ok: false,
        error: 'access_denied',
        description: 'the user denied access',
      });
    } finally {
      receiver.close();
    }
  });

  it('serves one sign-in only', async () => {
    const receiver = await startLoopbackReceiver('st');
    await fetch(`${receiver.redirectUri}?code=c&state=st`);
    await receiver.result;

    await expect(fetch(`${receiver.redirectUri}?code=c2&state=st`)).rejects.toThrow();
    receiver.close();
  });
});
