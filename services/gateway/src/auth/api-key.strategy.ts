import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { Strategy } from 'passport-custom';
import { hashApiKey, type Principal } from '@cloudflow/contracts';
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
export class ApiKeyStrategy extends PassportStrategy(Strategy, 'api-key') {
  constructor(
    private readonly rpc: RpcClient,
    @Inject(CREDENTIAL_CACHE) private readonly cache: CredentialCache,
  ) {
    super();
  }

  /** `null` passes the request on to the next strategy: the header is not an API key. */
  async validate(request: FastifyRequest): Promise<Principal | null> {
    const parsed = parseAuthorization(request.headers.authorization);
    if (!parsed.ok || parsed.credential.scheme !== 'ApiKey') return null;
    const { credential } = parsed;
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
