import { Module, type DynamicModule } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { SecretBox } from '@cloudflow/persistence';
import { OAUTH_CLIENTS_COLLECTION, OAuthClientSchema } from '../oauth-clients/oauth-client.schema';
import { OAuthClientsController } from '../oauth-clients/oauth-clients.controller';
import { OAuthClientsRepository } from '../oauth-clients/oauth-clients.repository';
import { OAuthClientsService } from '../oauth-clients/oauth-clients.service';
import { USERS_COLLECTION, UserSchema } from '../users/user.schema';
import { UsersController } from '../users/users.controller';
import { UsersRepository } from '../users/users.repository';
import { UsersService } from '../users/users.service';
import { AuthorizationService } from './authorization.service';
import { OAuthHttpController } from './oauth-http.controller';
import { OAuthModel } from './oauth.model';
import { OAuthRpcController } from './oauth-rpc.controller';
import { OAuthStore } from './oauth.store';
import { OAUTH_SETTINGS, SigningKeys, type OAuthSettings } from './signing-keys';

export interface OAuthModuleOptions extends Omit<OAuthSettings, 'secretBox'> {
  /** Base64 of the 32-byte key that seals the signing key at rest. */
  secretKey: string;
  /** Keys the signing key may still be sealed with during a rotation. */
  previousSecretKeys: string[];
}

/** Users, OAuth clients and the OAuth 2.0 authorization server. */
@Module({})
export class OAuthModule {
  static forRoot(options: OAuthModuleOptions): DynamicModule {
    const { secretKey, previousSecretKeys, ...rest } = options;
    const settings: OAuthSettings = {
      ...rest,
      secretBox: new SecretBox(secretKey, previousSecretKeys),
    };
    return {
      module: OAuthModule,
      imports: [
        MongooseModule.forFeature([
          { name: USERS_COLLECTION, schema: UserSchema },
          { name: OAUTH_CLIENTS_COLLECTION, schema: OAuthClientSchema },
        ]),
      ],
      controllers: [
        UsersController,
        OAuthClientsController,
        OAuthRpcController,
        OAuthHttpController,
      ],
      providers: [
        { provide: OAUTH_SETTINGS, useValue: settings },
        UsersRepository,
        UsersService,
        OAuthClientsRepository,
        OAuthClientsService,
        OAuthStore,
        SigningKeys,
        OAuthModel,
        AuthorizationService,
      ],
    };
  }
}
