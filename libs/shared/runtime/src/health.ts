import {
  Controller,
  Get,
  Inject,
  Module,
  Res,
  type Abstract,
  type DynamicModule,
  type Provider,
  type Type,
} from '@nestjs/common';
import type { FastifyReply } from 'fastify';

/** A dependency that must answer for the service to take traffic. */
export interface ReadinessCheck {
  readonly name: string;
  check(): Promise<void>;
}

export const READINESS_CHECKS = Symbol('READINESS_CHECKS');
const CHECK_TIMEOUT_MS = 2_000;

@Controller()
export class HealthController {
  constructor(@Inject(READINESS_CHECKS) private readonly checks: ReadinessCheck[]) {}

  /** Liveness: the process runs its event loop. Never touches dependencies. */
  @Get('healthz')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: every dependency answers within a bounded time. */
  @Get('readyz')
  async ready(@Res() reply: FastifyReply): Promise<void> {
    const results = await Promise.all(
      this.checks.map(async (c) => {
        try {
          await withTimeout(c.check(), CHECK_TIMEOUT_MS);
          return [c.name, 'ok'] as const;
        } catch (error) {
          return [
            c.name,
            `unavailable: ${error instanceof Error ? error.message : String(error)}`,
          ] as const;
        }
      }),
    );
    const ready = results.every(([, state]) => state === 'ok');
    await reply
      .status(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : 'unready', checks: Object.fromEntries(results) });
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export interface HealthModuleOptions {
  /** Modules that provide the checks. */
  imports?: DynamicModule['imports'];
  checks: (Type<ReadinessCheck> | Abstract<ReadinessCheck>)[];
}

@Module({})
export class HealthModule {
  static forRoot(options: HealthModuleOptions): DynamicModule {
    const provider: Provider = {
      provide: READINESS_CHECKS,
      useFactory: (...checks: ReadinessCheck[]) => checks,
      inject: options.checks,
    };
    return {
      module: HealthModule,
      imports: options.imports ?? [],
      controllers: [HealthController],
      providers: [provider],
    };
  }
}
