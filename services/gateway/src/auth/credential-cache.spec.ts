import type { Principal } from '@cloudflow/contracts';
import { CredentialCache } from './credential-cache';

function principal(workspaceId: string): Principal {
  return { workspaceId, subject: { kind: 'api-key', id: `key_${workspaceId}` }, scopes: ['read'] };
}

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('CredentialCache', () => {
  it('answers a cached principal for the same key hash', () => {
    const cache = new CredentialCache(2_000);
    cache.set('hash-a', principal('ws_a'));
    expect(cache.get('hash-a')).toEqual(principal('ws_a'));
  });

  it('answers nothing for a key hash it has not seen', () => {
    const cache = new CredentialCache(2_000);
    cache.set('hash-a', principal('ws_a'));
    expect(cache.get('hash-b')).toBeUndefined();
  });

  it('keeps principals of different keys apart', () => {
    const cache = new CredentialCache(2_000);
    cache.set('hash-a', principal('ws_a'));
    cache.set('hash-b', principal('ws_b'));
    expect(cache.get('hash-a')?.workspaceId).toBe('ws_a');
    expect(cache.get('hash-b')?.workspaceId).toBe('ws_b');
  });

  it('forgets a principal once its time to live has passed', () => {
    const clock = manualClock();
    const cache = new CredentialCache(2_000, 100, clock.now);
    cache.set('hash-a', principal('ws_a'));

    clock.advance(1_999);
    expect(cache.get('hash-a')).toEqual(principal('ws_a'));
    clock.advance(1);
    expect(cache.get('hash-a')).toBeUndefined();
    // Once expired it stays gone, even if the clock were to go back.
    clock.advance(-1_000);
    expect(cache.get('hash-a')).toBeUndefined();
  });

  it('restarts the time to live when a principal is set again', () => {
    const clock = manualClock();
    const cache = new CredentialCache(1_000, 100, clock.now);
    cache.set('hash-a', principal('ws_a'));
    clock.advance(900);
    cache.set('hash-a', principal('ws_a2'));
    clock.advance(900);
    expect(cache.get('hash-a')).toEqual(principal('ws_a2'));
  });

  it.each([0, -5])('caches nothing with a time to live of %i', (ttl) => {
    const clock = manualClock();
    const cache = new CredentialCache(ttl, 100, clock.now);
    cache.set('hash-a', principal('ws_a'));
    expect(cache.get('hash-a')).toBeUndefined();
  });

  it('evicts the oldest entry when full', () => {
    const cache = new CredentialCache(60_000, 2);
    cache.set('hash-a', principal('ws_a'));
    cache.set('hash-b', principal('ws_b'));
    cache.set('hash-c', principal('ws_c'));
    expect(cache.get('hash-a')).toBeUndefined();
    expect(cache.get('hash-b')).toEqual(principal('ws_b'));
    expect(cache.get('hash-c')).toEqual(principal('ws_c'));
  });
});
