import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { Strategy } from 'passport-custom';
import { AppError, hashApiKey, type Principal } from '@cloudflow/contracts';
import { RpcClient } from '@cloudflow/messaging';
import { requestIdOf } from '@cloudflow/runtime';
import { parseAuthorization } from './authorization-header';
import { CredentialCache } from './credential-cache';

export const CREDENTIAL_CACHE = Symbol('CREDENTIAL_CACHE');

/**
 * `Authorization: ApiKey <key>`. The key is hashed here, at the edge: only the
 * hash travels to the auth service, so no plaintext key is ever on Kafka.
 */
@Injectable()
export class ApiKeyStrategy extends PassportStrategy(Strategy, 'cloudflow') {
  constructor(
    private readonly rpc: RpcClient,
    @Inject(CREDENTIAL_CACHE) private readonly cache: CredentialCache,
  ) {
    super();
  }

  async validate(request: FastifyRequest): Promise<Principal> {
    const parsed = parseAuthorization(request.headers.authorization);
    if (!parsed.ok) throw AppError.unauthorized(parsed.reason);
    const { credential } = parsed;
    if (credential.scheme === 'Bearer') {
      throw AppError.unauthorized('The bearer token is invalid or expired');
    }
    const keyHash = hashApiKey(credential.value);
    const cached = this.cache.get(keyHash);
    if (cached) return cached;
    const { principal } = await this.rpc.call(
      'auth.apiKeys.verify',
      { keyHash },
      { requestId: requestIdOf(request.raw) },
    );
    this.cache.set(keyHash, principal);
    return principal;
  }
}
