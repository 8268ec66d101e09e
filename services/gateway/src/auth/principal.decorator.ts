import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { Principal } from '@cloudflow/contracts';

/** The authenticated caller, as the guard established it. */
export const CurrentPrincipal = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): Principal => {
    const request = ctx.switchToHttp().getRequest<FastifyRequest & { user?: Principal }>();
    if (!request.user) throw new Error('CurrentPrincipal used on a route without ApiAuthGuard');
    return request.user;
  },
);
