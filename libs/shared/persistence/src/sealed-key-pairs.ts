import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import type { mongo } from 'mongoose';
import type { KeyPairStore } from './sealed-fields';
import type { SecretBox } from './secret-box';

interface KeyPairDocument {
  /** The key id (`kid`). */
  _id: string;
  /** Absent on keys stored before it was recorded: the store's own algorithm. */
  alg?: string;
  publicJwk: JWK;
  /** The private JWK, sealed with CLOUDFLOW_SECRET_KEY for the store's purpose. */
  sealedPrivateJwk: string;
  createdAt: Date;
}

export type PrivateKey = Awaited<ReturnType<typeof importJWK>>;

export interface LoadedKeyPair {
  kid: string;
  privateKey: PrivateKey;
}

/**
 * A service's asymmetric key pair (the OAuth signing key, the broker's
 * transit key), kept in one MongoDB collection with the private half sealed
 * by SecretBox. The first replica to start creates one; every replica uses
 * the oldest; every stored public key is published, so keys made by
 * replicas starting at the same moment are harmless.
 */
export class SealedKeyPairs {
  private readonly keys: mongo.Collection<KeyPairDocument>;
  /** Names the keys in errors and binds the sealed halves to this use. */
  private readonly purpose: string;

  constructor(
    db: mongo.Db,
    store: KeyPairStore,
    private readonly box: SecretBox,
    private readonly alg: string,
    private readonly options: { crv?: string } = {},
  ) {
    this.keys = db.collection<KeyPairDocument>(store.collection);
    this.purpose = store.purpose;
  }

  /** The key pair to use, created if there is none yet. */
  async current(): Promise<LoadedKeyPair> {
    let stored = await this.oldest();
    if (!stored) {
      await this.create();
      stored = await this.oldest();
    }
    if (!stored) throw new Error(`no ${this.purpose} key after creating one`);
    return { kid: stored._id, privateKey: await this.open(stored) };
  }

  /** A private key by its id, for material made with any stored key. */
  async byId(kid: string): Promise<PrivateKey | undefined> {
    const stored = await this.keys.findOne({ _id: kid });
    return stored ? this.open(stored) : undefined;
  }

  /** Every public key, oldest first, as a JWK set entry. */
  async publicKeys(use: 'sig' | 'enc'): Promise<JWK[]> {
    const all = await this.keys.find({}, { sort: { createdAt: 1 } }).toArray();
    return all.map((key) => ({ ...key.publicJwk, kid: key._id, alg: key.alg ?? this.alg, use }));
  }

  private async open(stored: KeyPairDocument): Promise<PrivateKey> {
    let opened: string;
    try {
      opened = this.box.open(stored.sealedPrivateJwk, this.purpose);
    } catch (error) {
      // SecretBox says which key id the value needs and which settings to check.
      const reason = error instanceof Error ? error.message : 'cannot be opened';
      throw new Error(`the stored ${this.purpose} key ${stored._id}: ${reason}`);
    }
    let jwk: JWK;
    try {
      jwk = JSON.parse(opened) as JWK;
    } catch {
      // JSON.parse quotes its input in errors: that input is a private key.
      throw new Error(`the stored ${this.purpose} key ${stored._id} is not a JWK`);
    }
    return importJWK(jwk, stored.alg ?? this.alg);
  }

  private oldest(): Promise<KeyPairDocument | null> {
    return this.keys.findOne({}, { sort: { createdAt: 1, _id: 1 } });
  }

  private async create(): Promise<void> {
    const { publicKey, privateKey } = await generateKeyPair(this.alg, {
      extractable: true,
      ...(this.options.crv && { crv: this.options.crv }),
    });
    await this.keys.insertOne({
      _id: `k_${randomUUID()}`,
      alg: this.alg,
      publicJwk: await exportJWK(publicKey),
      sealedPrivateJwk: this.box.seal(JSON.stringify(await exportJWK(privateKey)), this.purpose),
      createdAt: new Date(),
    });
  }
}
