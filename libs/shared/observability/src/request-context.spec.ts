import { currentRequestId, runWithRequestId } from './request-context';

describe('request context', () => {
  it('knows no request outside one', () => {
    expect(currentRequestId()).toBeUndefined();
  });

  it('follows a request through timers and awaits, and keeps concurrent requests apart', async () => {
    const seen = await Promise.all(
      ['req-a', 'req-b'].map((id) =>
        runWithRequestId(id, async () => {
          await new Promise((resolve) => setTimeout(resolve, 5));
          await Promise.resolve();
          return currentRequestId();
        }),
      ),
    );
    expect(seen).toEqual(['req-a', 'req-b']);
    expect(currentRequestId()).toBeUndefined();
  });
});
