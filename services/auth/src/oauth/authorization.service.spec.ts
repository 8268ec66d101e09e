import type { OAuthClientDocument } from '../oauth-clients/oauth-client.schema';
import type { OAuthClientsRepository } from '../oauth-clients/oauth-clients.repository';
import type { UsersRepository } from '../users/users.repository';
import { AuthorizationService } from './authorization.service';
import type { OAuthModel } from './oauth.model';
import type { InteractionDocument, OAuthStore } from './oauth.store';
import type { SigningKeys } from './signing-keys';

const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

function client(overrides: Partial<OAuthClientDocument>): OAuthClientDocument {
  return {
    _id: 'cli_cli',
    workspaceId: 'ws_acme',
    name: 'cloudflow CLI',
    type: 'public',
    redirectUris: ['http://127.0.0.1/callback'],
    grants: ['authorization_code', 'refresh_token'],
    scopes: ['read', 'write'],
    createdAt: new Date('2025-01-01T00:00:00.000Z'),
    ...overrides,
  };
}

/** Only what `start` touches: the client lookup and the interaction it opens. */
function setup(doc: OAuthClientDocument) {
  const interactions: Omit<InteractionDocument, '_id'>[] = [];
  const clients = { findByClientId: (id: string) => Promise.resolve(id === doc._id ? doc : null) };
  const store = {
    saveInteraction: (_id: string, interaction: Omit<InteractionDocument, '_id'>) => {
      interactions.push(interaction);
      return Promise.resolve();
    },
  };
  const model = { lifetimes: {} };
  const service = new AuthorizationService(
    model as unknown as OAuthModel,
    store as unknown as OAuthStore,
    clients as unknown as OAuthClientsRepository,
    {} as UsersRepository,
    {} as SigningKeys,
  );
  return { service, interactions };
}

const query = (redirectUri: string) => ({
  response_type: 'code',
  client_id: 'cli_cli',
  redirect_uri: redirectUri,
  state: 'st',
  code_challenge: CHALLENGE,
  code_challenge_method: 'S256',
});

describe('AuthorizationService.start: the redirect URI', () => {
  it("shows the sign-in page for a public client's loopback URI on the port the app chose", async () => {
    const { service, interactions } = setup(client({}));

    const answer = await service.start(query('http://127.0.0.1:51234/callback'), false);

    expect(answer).toMatchObject({ kind: 'page', status: 200 });
    // The URI used is what the code will be bound to, and what the token request must name.
    expect(interactions[0]?.params).toMatchObject({
      redirect_uri: 'http://127.0.0.1:51234/callback',
      redirect_uri_sent: 'true',
    });
  });

  it.each([
    ['a confidential client', client({ type: 'confidential' }), 'http://127.0.0.1:51234/callback'],
    ['another path', client({}), 'http://127.0.0.1:51234/evil'],
    [
      'localhost',
      client({ redirectUris: ['http://localhost/callback'] }),
      'http://localhost:51234/callback',
    ],
  ])('refuses another port for %s, with an error page and no redirect', async (_case, doc, uri) => {
    const { service, interactions } = setup(doc);

    const answer = await service.start(query(uri), false);

    expect(answer).toMatchObject({ kind: 'page', status: 400 });
    expect(JSON.stringify(answer)).toContain('Invalid redirect URI');
    expect(interactions).toHaveLength(0);
  });
});
