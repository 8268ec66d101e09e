import { Injectable, type ExecutionContext } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { AppError } from '@cloudflow/contracts';
import { parseAuthorization } from './authorization-header';

/**
 * Tries the `ApiKey` and `Bearer` strategies. Each passes on a header of the
 * other scheme; a credential of its own scheme it either accepts or refuses
 * with its reason. When neither applies, the header itself is what is wrong.
 */
@Injectable()
export class CredentialAuthGuard extends AuthGuard(['api-key', 'bearer']) {
  override handleRequest<TUser>(
    error: unknown,
    user: TUser | false,
    _info: unknown,
    context: ExecutionContext,
  ): TUser {
    if (error) throw error;
    if (user) return user;
    const header = context.switchToHttp().getRequest<FastifyRequest>().headers.authorization;
    const parsed = parseAuthorization(header);
    throw AppError.unauthorized(parsed.ok ? 'Authentication failed' : parsed.reason);
  }
}
