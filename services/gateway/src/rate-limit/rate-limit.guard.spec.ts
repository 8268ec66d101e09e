import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  getOptionsToken,
  type ThrottlerModuleOptions,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import { RateLimitedError, type Principal } from '@cloudflow/contracts';
import { Costly, RateLimitGuard } from './rate-limit.guard';
import { RateLimitModule } from './rate-limit.module';

type Counted = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/** Counts per key; every window has 42 s left. */
class CountingStorage implements ThrottlerStorage {
  readonly counts = new Map<string, number>();

  increment(key: string, _ttl: number, limit: number): Promise<Counted> {
    const totalHits = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, totalHits);
    const isBlocked = totalHits > limit;
    return Promise.resolve({
      totalHits,
      timeToExpire: 42,
      isBlocked,
      timeToBlockExpire: isBlocked ? 42 : 0,
    });
  }
}

class PipelinesController {
  list(): string {
    return 'pipelines';
  }
  get(): string {
    return 'pipeline';
  }
}

class JobsController {
  @Costly()
  submit(): string {
    return 'job';
  }
}

class Reply {
  readonly headers: Record<string, string> = {};
  header(name: string, value: string): this {
    this.headers[name] = value;
    return this;
  }
}

interface Call {
  user?: Principal;
  ip?: string;
  route?: [new () => object, () => string];
}

function aPrincipal(id: string, workspaceId = 'ws_a'): Principal {
  return { workspaceId, subject: { kind: 'api-key', id }, scopes: ['read', 'write'] };
}

/** The throttler options RateLimitModule gives the guard, policies and all. */
function policies(): ThrottlerModuleOptions {
  const providers = RateLimitModule.forRoot({
    windowSeconds: 60,
    perPrincipal: 3,
    costlyPerPrincipal: 1,
    anonymousPerIp: 2,
  }).providers!;
  const options = providers.find(
    (p) => typeof p === 'object' && 'provide' in p && p.provide === getOptionsToken(),
  ) as { useValue: ThrottlerModuleOptions };
  return options.useValue;
}

describe('RateLimitGuard', () => {
  let storage: CountingStorage;
  let guard: RateLimitGuard;

  beforeEach(async () => {
    storage = new CountingStorage();
    guard = new RateLimitGuard(policies(), storage, new Reflector());
    await guard.onModuleInit();
  });

  async function request(call: Call): Promise<{ reply: Reply; outcome: Promise<boolean> }> {
    const [controller, handler] = call.route ?? [
      PipelinesController,
      PipelinesController.prototype.list,
    ];
    const reply = new Reply();
    const req = { user: call.user, ip: call.ip ?? '203.0.113.7', headers: {} };
    const context = {
      getHandler: () => handler,
      getClass: () => controller,
      getType: () => 'http',
      switchToHttp: () => ({ getRequest: () => req, getResponse: () => reply }),
    } as unknown as ExecutionContext;
    const outcome = guard.canActivate(context);
    await outcome.catch(() => undefined);
    return { reply, outcome };
  }

  it('counts an authenticated caller across all routes, then refuses with a retry time', async () => {
    const caller = aPrincipal('key_1');
    const routes: Call['route'][] = [
      [PipelinesController, PipelinesController.prototype.list],
      [PipelinesController, PipelinesController.prototype.get],
      [PipelinesController, PipelinesController.prototype.list],
    ];
    for (const route of routes) {
      await expect((await request({ user: caller, route })).outcome).resolves.toBe(true);
    }

    const refused = await request({ user: caller, route: routes[1] });

    await expect(refused.outcome).rejects.toBeInstanceOf(RateLimitedError);
    await expect(refused.outcome).rejects.toMatchObject({ retryAfterSeconds: 42 });
    expect(refused.reply.headers).toEqual({
      'RateLimit-Policy': '"default";q=3;w=60',
      RateLimit: '"default";r=0;t=42',
    });
  });

  it('announces the quota and what is left on every answer', async () => {
    const { reply } = await request({ user: aPrincipal('key_1') });

    expect(reply.headers).toEqual({
      'RateLimit-Policy': '"default";q=3;w=60',
      RateLimit: '"default";r=2;t=42',
    });
  });

  it('gives each credential and each workspace a quota of its own', async () => {
    for (let i = 0; i < 3; i++) await request({ user: aPrincipal('key_1') });
    await expect((await request({ user: aPrincipal('key_1') })).outcome).rejects.toBeInstanceOf(
      RateLimitedError,
    );

    await expect((await request({ user: aPrincipal('key_2') })).outcome).resolves.toBe(true);
    await expect((await request({ user: aPrincipal('key_1', 'ws_b') })).outcome).resolves.toBe(
      true,
    );
  });

  it('limits callers without a credential per client IP under the anonymous policy', async () => {
    const first = await request({ ip: '198.51.100.1' });
    await request({ ip: '198.51.100.1' });
    const third = await request({ ip: '198.51.100.1' });

    expect(first.reply.headers).toEqual({
      'RateLimit-Policy': '"anonymous";q=2;w=60',
      RateLimit: '"anonymous";r=1;t=42',
    });
    await expect(third.outcome).rejects.toBeInstanceOf(RateLimitedError);
    await expect((await request({ ip: '198.51.100.2' })).outcome).resolves.toBe(true);
    // An authenticated caller from the same address is not held to the anonymous quota.
    await expect(
      (await request({ ip: '198.51.100.1', user: aPrincipal('key_1') })).outcome,
    ).resolves.toBe(true);
  });

  it('counts IPv6 clients of one /64 network together', async () => {
    await request({ ip: '2001:db8:1:2::1' });
    await request({ ip: '2001:db8:1:2:ffff::9' });

    await expect((await request({ ip: '2001:db8:1:2::77' })).outcome).rejects.toBeInstanceOf(
      RateLimitedError,
    );
    await expect((await request({ ip: '2001:db8:1:3::1' })).outcome).resolves.toBe(true);
  });

  it('counts costly routes against the costly quota on top of the default one', async () => {
    const caller = aPrincipal('key_1');
    const submit: Call['route'] = [JobsController, JobsController.prototype.submit];

    const first = await request({ user: caller, route: submit });
    expect(first.reply.headers).toEqual({
      'RateLimit-Policy': '"default";q=3;w=60, "costly";q=1;w=60',
      RateLimit: '"default";r=2;t=42, "costly";r=0;t=42',
    });

    await expect((await request({ user: caller, route: submit })).outcome).rejects.toMatchObject({
      retryAfterSeconds: 42,
    });
    // Ordinary routes still have room in the default quota.
    await expect((await request({ user: caller })).outcome).resolves.toBe(true);
  });
});
