import mongoose, { type Connection } from 'mongoose';
import { hashApiKey } from '@cloudflow/contracts';
import { uniqueName, withDatabase } from '@cloudflow/testing';
import { API_KEYS_COLLECTION, ApiKeySchema, type ApiKeyDocument } from './api-key.schema';
import { ApiKeysRepository } from './api-keys.repository';

describe('ApiKeysRepository on a real MongoDB-wire server', () => {
  let connection: Connection;
  let keys: ApiKeysRepository;

  beforeAll(async () => {
    connection = await mongoose
      .createConnection(withDatabase(process.env['MONGO_URL']!, uniqueName('it_keys')))
      .asPromise();
    keys = new ApiKeysRepository(
      connection.model<ApiKeyDocument>(API_KEYS_COLLECTION, ApiKeySchema),
    );
    await keys.onModuleInit();
  });

  afterAll(async () => {
    await connection.dropDatabase();
    await connection.close();
  });

  function aKey(id: string, secret: string): ApiKeyDocument {
    return {
      _id: id,
      workspaceId: 'ws_default',
      name: 'bootstrap',
      keyHash: hashApiKey(secret),
      displayPrefix: secret.slice(0, 6),
      scopes: ['admin'],
      createdAt: new Date(),
    };
  }

  it('keeps exactly one key when replicas ensure the same bootstrap key at once', async () => {
    const secret = 'bootstrap-secret-value-1234';
    const results = await Promise.all(
      [1, 2, 3, 4, 5].map((i) => keys.ensure(aKey(`key_${i}`, secret))),
    );
    const ids = new Set(results.map((k) => k._id));
    expect(ids.size).toBe(1);
    expect(
      await connection
        .collection(API_KEYS_COLLECTION)
        .countDocuments({ keyHash: hashApiKey(secret) }),
    ).toBe(1);
  });

  it('finds a key by its hash and stores no plaintext', async () => {
    const secret = 'another-secret-value-5678';
    await keys.ensure(aKey('key_plain', secret));
    expect((await keys.findByHashForAuthentication(hashApiKey(secret)))?._id).toBe('key_plain');
    const raw = JSON.stringify(await connection.collection(API_KEYS_COLLECTION).find({}).toArray());
    expect(raw).not.toContain(secret);
  });
});
