import { Injectable, SetMetadata, type ExecutionContext } from '@nestjs/common';
import { ThrottlerGuard, normalizeIp } from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RateLimitedError, type Principal } from '@cloudflow/contracts';
import { rateLimitHeaders, type QuotaState } from './rate-limit-headers';
import { SharedWindowStore } from './shared-window.store';

type ThrottlerRequest = Parameters<ThrottlerGuard['handleRequest']>[0];

/** The quota policies, by the name their headers show. */
export const POLICY = {
  /** Every request of an authenticated caller. */
  principal: 'default',
  /** Expensive routes (job submission, connection tests), on top of the default. */
  costly: 'costly',
  /** Requests without a valid credential, per client IP. */
  anonymous: 'anonymous',
} as const;

const COSTLY = 'cloudflow:costly';

/** Marks a route whose calls also count against the tighter `costly` quota. */
export const Costly = (): MethodDecorator => SetMetadata(COSTLY, true);

type EdgeRequest = FastifyRequest & { user?: Principal; quotaStates?: QuotaState[] };

/** Unauthenticated callers are counted by client IP, IPv6 by /64. */
function ipTracker(request: FastifyRequest): string {
  return `ip/${normalizeIp(request.ip, 64)}`;
}

export function isCostly(context: ExecutionContext): boolean {
  return Reflect.getMetadata(COSTLY, context.getHandler()) === true;
}

export function hasPrincipal(context: ExecutionContext): boolean {
  return context.switchToHttp().getRequest<EdgeRequest>().user !== undefined;
}

/**
 * @nestjs/throttler with CloudFlow's choices: callers are counted by
 * principal (workspace and credential), unauthenticated ones by client IP,
 * across all routes rather than per route; answers carry the IETF draft's
 * `RateLimit`/`RateLimit-Policy` fields, and a refusal is the published 429
 * body with `retry_after`.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  /**
   * Refuses a client IP that is over its anonymous quota before its
   * credential is even looked at: otherwise a right guess (200) could still
   * be told from a wrong one (429) at any rate. Known to this replica from
   * the shared counters without a round trip.
   */
  refuseExhaustedIp(context: ExecutionContext): void {
    const policy = this.throttlers.find((t) => t.name === POLICY.anonymous);
    if (!policy || typeof policy.ttl !== 'number' || typeof policy.limit !== 'number') return;
    if (!(this.storageService instanceof SharedWindowStore)) return;
    const request = context.switchToHttp().getRequest<EdgeRequest>();
    const key = this.generateKey(context, ipTracker(request), POLICY.anonymous);
    const retryAfter = this.storageService.knownExhausted(key, policy.ttl, policy.limit);
    if (retryAfter === undefined) return;
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    const headers = rateLimitHeaders([
      {
        policy: POLICY.anonymous,
        quota: policy.limit,
        windowSeconds: Math.ceil(policy.ttl / 1000),
        remaining: 0,
        resetSeconds: retryAfter,
      },
    ]);
    for (const [header, value] of Object.entries(headers)) void reply.header(header, value);
    throw new RateLimitedError(retryAfter);
  }

  protected override getTracker(req: Record<string, unknown>): Promise<string> {
    const request = req as unknown as EdgeRequest;
    const principal = request.user;
    if (principal) {
      return Promise.resolve(
        `${principal.workspaceId}/${principal.subject.kind}/${principal.subject.id}`,
      );
    }
    return Promise.resolve(ipTracker(request));
  }

  protected override generateKey(
    _context: ExecutionContext,
    tracker: string,
    throttlerName: string,
  ): string {
    return `${throttlerName}/${tracker}`;
  }

  protected override async handleRequest(props: ThrottlerRequest): Promise<boolean> {
    const { context, limit, ttl, throttler, blockDuration, getTracker, generateKey } = props;
    const request = context.switchToHttp().getRequest<EdgeRequest>();
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    const name = throttler.name ?? POLICY.principal;
    const key = generateKey(context, await getTracker(request, context), name);
    const counted = await this.storageService.increment(key, ttl, limit, blockDuration, name);

    const states = (request.quotaStates ??= []);
    states.push({
      policy: name,
      quota: limit,
      windowSeconds: Math.ceil(ttl / 1000),
      remaining: limit - counted.totalHits,
      resetSeconds: counted.timeToExpire,
    });
    for (const [header, value] of Object.entries(rateLimitHeaders(states))) {
      void reply.header(header, value);
    }
    if (counted.isBlocked) throw new RateLimitedError(Math.max(1, counted.timeToBlockExpire));
    return true;
  }
}
