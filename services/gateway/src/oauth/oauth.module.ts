import { Module } from '@nestjs/common';
import { OAuthClientsController } from './oauth-clients.controller';
import { OAuthProxyController } from './oauth-proxy.controller';

@Module({ controllers: [OAuthClientsController, OAuthProxyController] })
export class OAuthModule {}
