import type { mongo } from 'mongoose';
import { SEALED_FIELDS, type SealedField } from './sealed-fields';
import type { SecretBox } from './secret-box';

/** What `resealAll` did to the values of one sealed field. */
export interface ResealCounts {
  collection: string;
  field: string;
  /** Sealed with a previous key (or before key ids), now sealed with the current key. */
  resealed: number;
  /** Already sealed with the current key: left untouched. */
  alreadyCurrent: number;
  /** Changed or deleted by another writer between read and write: the other writer's value stays. */
  skipped: number;
}

export type ResealOutcome = 'resealed' | 'alreadyCurrent' | 'skipped';

/** The registry names the field; every sealed collection keys its documents by string ids. */
interface SealedDocument {
  _id: string;
  [field: string]: unknown;
}

/** Documents fetched per round trip: memory stays bounded whatever a collection's size. */
const BATCH_SIZE = 100;

/**
 * Moves every sealed value of CloudFlow to the box's current key: the step
 * of a CLOUDFLOW_SECRET_KEY rotation after which the previous keys can be
 * dropped (docs/operations/secret-key-rotation.md). It runs next to live
 * services, so each write is a compare-and-set on the value read, and it can
 * run again: values already under the current key are not touched. A value
 * no configured key opens stops the run with an error naming the document
 * and the key id it needs, never the value.
 */
export async function resealAll(
  db: mongo.Db,
  box: SecretBox,
  fields: readonly SealedField[] = SEALED_FIELDS,
): Promise<ResealCounts[]> {
  const counts: ResealCounts[] = [];
  for (const field of fields) counts.push(await resealField(db, box, field));
  return counts;
}

/** One sealed field, streamed through a cursor, one document at a time. */
export async function resealField(
  db: mongo.Db,
  box: SecretBox,
  sealedField: SealedField,
): Promise<ResealCounts> {
  const collection = db.collection<SealedDocument>(sealedField.collection);
  const counts: ResealCounts = {
    collection: sealedField.collection,
    field: sealedField.field,
    resealed: 0,
    alreadyCurrent: 0,
    skipped: 0,
  };
  const documents = collection.find(
    {},
    { projection: { [sealedField.field]: 1 }, batchSize: BATCH_SIZE },
  );
  for await (const document of documents) {
    counts[await resealDocument(collection, sealedField, box, document)]++;
  }
  return counts;
}

/**
 * Re-seals one document's value as it was read. The write only applies
 * while the stored value is still the one read (`{ _id, [field]: value }`),
 * so a service that sealed a new value meanwhile wins and this counts as
 * skipped. On FerretDB 1.24 a conditional update is not atomic (ADR 0003):
 * the check narrows the race to one round trip but does not close it.
 */
export async function resealDocument(
  collection: mongo.Collection<SealedDocument>,
  sealedField: SealedField,
  box: SecretBox,
  document: SealedDocument,
): Promise<ResealOutcome> {
  const { field } = sealedField;
  const id = document._id;
  const sealed = document[field];
  const where = `${sealedField.collection} ${String(id)} ${field}`;
  if (typeof id !== 'string' || typeof sealed !== 'string') {
    throw new Error(`${where}: not a sealed value`);
  }
  let resealed: string;
  try {
    if (!box.needsReseal(sealed)) return 'alreadyCurrent';
    const purpose = sealedField.purposeOf(id);
    resealed = box.seal(box.open(sealed, purpose), purpose);
  } catch (error) {
    // SecretBox and node:crypto errors name keys by id at most, never a value.
    throw new Error(`${where}: ${error instanceof Error ? error.message : 'cannot be opened'}`);
  }
  const { matchedCount } = await collection.updateOne(
    { _id: id, [field]: sealed },
    { $set: { [field]: resealed } },
  );
  return matchedCount === 1 ? 'resealed' : 'skipped';
}
