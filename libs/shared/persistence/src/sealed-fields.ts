/**
 * Where a value sealed with SecretBox is stored, and the purpose (associated
 * data) it is sealed for. Every sealed field of CloudFlow is listed in
 * SEALED_FIELDS, so rotating CLOUDFLOW_SECRET_KEY (`resealAll`) reaches each
 * of them, and the services seal and open with the purposes defined here.
 */
export interface SealedField {
  readonly collection: string;
  /** A top-level string field of the collection's documents. */
  readonly field: string;
  /** The purpose the value of the document with this `_id` is sealed for. */
  purposeOf(id: string): string;
}

/** A SealedKeyPairs collection: private halves in `sealedPrivateJwk`, all for one purpose. */
export interface KeyPairStore extends SealedField {
  readonly field: 'sealedPrivateJwk';
  readonly purpose: string;
}

function keyPairStore(collection: string, purpose: string): KeyPairStore {
  return { collection, field: 'sealedPrivateJwk', purpose, purposeOf: () => purpose };
}

/**
 * Data-source connection strings (datasource-broker). Bound to the data
 * source's id, so a value copied onto another data source does not open.
 */
export const DATA_SOURCE_CONNECTIONS: SealedField = {
  collection: 'data_sources',
  field: 'sealed',
  purposeOf: (id) => `datasource:${id}`,
};

/** The private halves of the OAuth access-token signing keys (auth). */
export const OAUTH_SIGNING_KEYS = keyPairStore('oauth_signing_keys', 'oauth-signing-key');

/** The private halves of the broker's transit keys (datasource-broker, ADR 0010). */
export const DATASOURCE_TRANSIT_KEYS = keyPairStore(
  'datasource_transit_keys',
  'datasource-transit-key',
);

/** Every sealed field: a new one is added here, or key rotation leaves it behind. */
export const SEALED_FIELDS: readonly SealedField[] = [
  DATA_SOURCE_CONNECTIONS,
  OAUTH_SIGNING_KEYS,
  DATASOURCE_TRANSIT_KEYS,
];
