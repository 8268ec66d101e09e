import {
  Inject,
  Injectable,
  Module,
  type DynamicModule,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { getConnectionToken } from '@nestjs/mongoose';
import { getOptionsToken, getStorageToken, type ThrottlerModuleOptions } from '@nestjs/throttler';
import type { Connection } from 'mongoose';
import { databaseOf } from '@cloudflow/persistence';
import { POLICY, RateLimitGuard, hasPrincipal, isCostly } from './rate-limit.guard';
import { SharedWindowStore, type SlotDocument } from './shared-window.store';

export interface RateLimitOptions {
  windowSeconds: number;
  /** Requests per window for each authenticated principal. */
  perPrincipal: number;
  /** Requests per window to costly routes, per principal, on top of the above. */
  costlyPerPrincipal: number;
  /** Requests per window without a valid credential, per client IP. */
  anonymousPerIp: number;
}

export const RATE_LIMIT_SLOTS_COLLECTION = 'rate_limit_slots';
const SWEEP_INTERVAL_MS = 60_000;

/** Creates the slot index and deletes slots of finished windows once a minute. */
@Injectable()
class SlotSweeper implements OnModuleInit, OnModuleDestroy {
  private timer: NodeJS.Timeout | undefined;

  constructor(@Inject(getStorageToken()) private readonly store: SharedWindowStore) {}

  async onModuleInit(): Promise<void> {
    await this.store.ensureIndexes();
    this.timer = setInterval(
      () => void this.store.sweep().catch(() => undefined),
      SWEEP_INTERVAL_MS,
    );
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }
}

/** Shared rate limits for the gateway (ADR 0008). */
@Module({})
export class RateLimitModule {
  static forRoot(options: RateLimitOptions): DynamicModule {
    const ttl = options.windowSeconds * 1000;
    const throttlerOptions: ThrottlerModuleOptions = {
      throttlers: [
        {
          name: POLICY.principal,
          ttl,
          limit: options.perPrincipal,
          skipIf: (context) => !hasPrincipal(context),
        },
        {
          name: POLICY.costly,
          ttl,
          limit: options.costlyPerPrincipal,
          skipIf: (context) => !hasPrincipal(context) || !isCostly(context),
        },
        {
          name: POLICY.anonymous,
          ttl,
          limit: options.anonymousPerIp,
          skipIf: (context) => hasPrincipal(context),
        },
      ],
    };
    return {
      module: RateLimitModule,
      // Guards are built in each controller's module: they need the options and storage there.
      global: true,
      providers: [
        { provide: getOptionsToken(), useValue: throttlerOptions },
        {
          provide: getStorageToken(),
          inject: [getConnectionToken()],
          useFactory: (connection: Connection) =>
            new SharedWindowStore(
              databaseOf(connection).collection<SlotDocument>(RATE_LIMIT_SLOTS_COLLECTION),
            ),
        },
        SlotSweeper,
        RateLimitGuard,
      ],
      exports: [RateLimitGuard, getOptionsToken(), getStorageToken()],
    };
  }
}
