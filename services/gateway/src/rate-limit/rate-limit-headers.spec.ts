import { rateLimitHeaders } from './rate-limit-headers';

describe('rateLimitHeaders', () => {
  it('writes one policy as the draft shows it', () => {
    expect(
      rateLimitHeaders([
        { policy: 'default', quota: 600, windowSeconds: 60, remaining: 599, resetSeconds: 42 },
      ]),
    ).toEqual({ 'RateLimit-Policy': '"default";q=600;w=60', RateLimit: '"default";r=599;t=42' });
  });

  it('lists every policy that applied, in order', () => {
    const headers = rateLimitHeaders([
      { policy: 'default', quota: 600, windowSeconds: 60, remaining: 10, resetSeconds: 5 },
      { policy: 'costly', quota: 30, windowSeconds: 60, remaining: 0, resetSeconds: 5 },
    ]);
    expect(headers['RateLimit-Policy']).toBe('"default";q=600;w=60, "costly";q=30;w=60');
    expect(headers.RateLimit).toBe('"default";r=10;t=5, "costly";r=0;t=5');
  });

  it('never shows a negative remainder once a caller is over the limit', () => {
    expect(
      rateLimitHeaders([
        { policy: 'anonymous', quota: 3, windowSeconds: 60, remaining: -4, resetSeconds: 9 },
      ]).RateLimit,
    ).toBe('"anonymous";r=0;t=9');
  });
});
