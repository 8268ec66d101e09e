import { createCipheriv, randomBytes } from 'node:crypto';
import mongoose, { type Connection, type mongo } from 'mongoose';
import { uniqueName, withDatabase } from '@cloudflow/testing';
import { databaseOf } from './mongo-errors';
import { resealAll, resealDocument, type ResealCounts } from './reseal';
import { SealedKeyPairs } from './sealed-key-pairs';
import {
  DATASOURCE_TRANSIT_KEYS,
  DATA_SOURCE_CONNECTIONS,
  OAUTH_SIGNING_KEYS,
  SEALED_FIELDS,
  type SealedField,
} from './sealed-fields';
import { SecretBox } from './secret-box';

const key = () => randomBytes(32).toString('base64');

/** A value as SecretBox sealed it before key ids (`v1.<nonce>.<ct>.<tag>`). */
function sealV1(base64Key: string, plaintext: string, purpose: string): string {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(base64Key, 'base64'), nonce);
  cipher.setAAD(Buffer.from(purpose, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', ...[nonce, body, cipher.getAuthTag()].map((p) => p.toString('base64url'))].join(
    '.',
  );
}

function counts(
  field: SealedField,
  resealed: number,
  alreadyCurrent: number,
  skipped = 0,
): ResealCounts {
  return { collection: field.collection, field: field.field, resealed, alreadyCurrent, skipped };
}

describe('resealAll on a real MongoDB-wire server', () => {
  let connection: Connection;
  let db: mongo.Db;

  beforeAll(async () => {
    connection = await mongoose
      .createConnection(withDatabase(process.env['MONGO_URL']!, uniqueName('it_reseal')))
      .asPromise();
    db = databaseOf(connection);
  });

  afterAll(async () => {
    await connection.dropDatabase();
    await connection.close();
  });

  it('moves every sealed field to the current key, and a second run re-seals nothing', async () => {
    const [keyA, keyB] = [key(), key()];
    const sealedWithA = new SecretBox(keyA);
    const sources = db.collection<{ _id: string; workspaceId: string; sealed: string }>(
      DATA_SOURCE_CONNECTIONS.collection,
    );
    // More data sources than one cursor batch, two from before key ids, one already under B.
    const plaintexts = new Map<string, string>();
    const documents = Array.from({ length: 253 }, (_, i) => {
      const id = `ds_reseal_${i}`;
      const purpose = DATA_SOURCE_CONNECTIONS.purposeOf(id);
      const plaintext = `postgres://user:pw-${i}@db.example.com/app`;
      plaintexts.set(id, plaintext);
      const sealed =
        i < 2
          ? sealV1(keyA, plaintext, purpose)
          : i === 2
            ? new SecretBox(keyB).seal(plaintext, purpose)
            : sealedWithA.seal(plaintext, purpose);
      return { _id: id, workspaceId: 'ws_reseal', sealed };
    });
    await sources.insertMany(documents);
    const signingKeysA = new SealedKeyPairs(db, OAUTH_SIGNING_KEYS, sealedWithA, 'ES256');
    const transitKeysA = new SealedKeyPairs(db, DATASOURCE_TRANSIT_KEYS, sealedWithA, 'ECDH-ES', {
      crv: 'P-256',
    });
    const signingKid = (await signingKeysA.current()).kid;
    const transitKid = (await transitKeysA.current()).kid;

    const rotating = new SecretBox(keyB, [keyA]);
    expect(await resealAll(db, rotating)).toEqual([
      counts(DATA_SOURCE_CONNECTIONS, 252, 1),
      counts(OAUTH_SIGNING_KEYS, 1, 0),
      counts(DATASOURCE_TRANSIT_KEYS, 1, 0),
    ]);

    // Key A is gone: every value opens with B alone, and is under B.
    const onlyB = new SecretBox(keyB);
    for (const field of SEALED_FIELDS) {
      const stored = db.collection<{ _id: string } & Record<string, unknown>>(field.collection);
      for await (const doc of stored.find({})) {
        const sealed = doc[field.field] as string;
        expect(onlyB.needsReseal(sealed)).toBe(false);
        const opened = onlyB.open(sealed, field.purposeOf(doc._id));
        if (field === DATA_SOURCE_CONNECTIONS) {
          expect(opened).toBe(plaintexts.get(doc._id));
          expect(doc['workspaceId']).toBe('ws_reseal');
        }
      }
    }
    expect(await sources.countDocuments()).toBe(253);
    const signingKeysB = new SealedKeyPairs(db, OAUTH_SIGNING_KEYS, onlyB, 'ES256');
    const transitKeysB = new SealedKeyPairs(db, DATASOURCE_TRANSIT_KEYS, onlyB, 'ECDH-ES', {
      crv: 'P-256',
    });
    expect((await signingKeysB.current()).kid).toBe(signingKid);
    expect((await transitKeysB.current()).kid).toBe(transitKid);

    expect(await resealAll(db, rotating)).toEqual([
      counts(DATA_SOURCE_CONNECTIONS, 0, 253),
      counts(OAUTH_SIGNING_KEYS, 0, 1),
      counts(DATASOURCE_TRANSIT_KEYS, 0, 1),
    ]);
  });

  it('leaves a value another writer changed or deleted since it was read to that writer', async () => {
    const field: SealedField = {
      collection: uniqueName('cas_secrets'),
      field: 'secret',
      purposeOf: (id) => `cas:${id}`,
    };
    const [keyA, keyB] = [key(), key()];
    const sealedWithA = new SecretBox(keyA);
    const rotating = new SecretBox(keyB, [keyA]);
    const collection = db.collection<{ _id: string; [field: string]: unknown }>(field.collection);
    await collection.insertMany([
      { _id: 'changed', secret: sealedWithA.seal('old', 'cas:changed') },
      { _id: 'deleted', secret: sealedWithA.seal('gone', 'cas:deleted') },
    ]);
    const [changed, deleted] = await collection.find({}, { sort: { _id: 1 } }).toArray();

    // A service with the new settings writes a new value; another deletes its document.
    const written = rotating.seal('new', 'cas:changed');
    await collection.updateOne({ _id: 'changed' }, { $set: { secret: written } });
    await collection.deleteOne({ _id: 'deleted' });

    expect(await resealDocument(collection, field, rotating, changed!)).toBe('skipped');
    expect(await resealDocument(collection, field, rotating, deleted!)).toBe('skipped');
    expect((await collection.findOne({ _id: 'changed' }))?.['secret']).toBe(written);
    expect(await collection.countDocuments()).toBe(1);
  });

  it('stops at a value no configured key opens, naming the document and key id, not the value', async () => {
    const field: SealedField = {
      collection: uniqueName('unknown_key_secrets'),
      field: 'secret',
      purposeOf: (id) => `unknown:${id}`,
    };
    const elsewhere = new SecretBox(key());
    await db
      .collection<{ _id: string; secret: string }>(field.collection)
      .insertOne({ _id: 'lost', secret: elsewhere.seal('canary-value', 'unknown:lost') });

    const attempt = resealAll(db, new SecretBox(key(), [key()]), [field]);
    await expect(attempt).rejects.toThrow(
      `${field.collection} lost secret: sealed with key id ${elsewhere.keyId}, which is not configured`,
    );
    await expect(attempt).rejects.toThrow(/CLOUDFLOW_SECRET_KEY_PREVIOUS/);
    await expect(attempt).rejects.not.toThrow(/canary/);
  });
});
