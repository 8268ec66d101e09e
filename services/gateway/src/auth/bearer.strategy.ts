import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { Strategy } from 'passport-custom';
import type { Principal } from '@cloudflow/contracts';
import { requestIdOf } from '@cloudflow/runtime';
import { AccessTokenVerifier } from './access-token.verifier';
import { parseAuthorization } from './authorization-header';

/** `Authorization: Bearer <access token>`, as issued by CloudFlow's OAuth server. */
@Injectable()
export class BearerStrategy extends PassportStrategy(Strategy, 'bearer') {
  constructor(private readonly verifier: AccessTokenVerifier) {
    super();
  }

  /** `null` passes the request on: the header is not a bearer token. */
  async validate(request: FastifyRequest): Promise<Principal | null> {
    const parsed = parseAuthorization(request.headers.authorization);
    if (!parsed.ok || parsed.credential.scheme !== 'Bearer') return null;
    return this.verifier.verify(parsed.credential.value, requestIdOf(request.raw));
  }
}
