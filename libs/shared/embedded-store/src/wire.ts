import { deserialize, serialize } from 'bson';
import { BSON_READ_OPTIONS, BSON_WRITE_OPTIONS } from './journal';
import type { Doc } from './values';

/**
 * The MongoDB wire protocol, server side: framing of the byte stream into
 * messages, OP_MSG requests and replies, and the legacy OP_QUERY / OP_REPLY
 * pair drivers still use for the first hello. All integers little-endian.
 */

export const OP_REPLY = 1;
export const OP_QUERY = 2004;
export const OP_MSG = 2013;
export const HEADER_BYTES = 16;
export const MAX_MESSAGE_BYTES = 48_000_000;

const CHECKSUM_PRESENT = 1 << 0;
const MORE_TO_COME = 1 << 1;
const EXHAUST_ALLOWED = 1 << 16;
/** Bits 0-15 are required: a flag a server does not know must fail the message. */
const KNOWN_REQUIRED_FLAGS = CHECKSUM_PRESENT | MORE_TO_COME;

/** A message the store cannot read: the connection it came on is closed. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/**
 * Cuts a connection's byte stream into whole messages, whatever the chunking:
 * half a header, several messages in one chunk, one message over many chunks
 * (joined once, when complete, rather than on every chunk).
 */
export class MessageFramer {
  private chunks: Buffer[] = [];
  private buffered = 0;

  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const messages: Buffer[] = [];
    while (this.buffered >= 4) {
      const length = this.peekLength();
      if (length < HEADER_BYTES || length > MAX_MESSAGE_BYTES) {
        throw new ProtocolError(`message length ${length} is out of bounds`);
      }
      if (this.buffered < length) break;
      messages.push(this.take(length));
    }
    return messages;
  }

  private peekLength(): number {
    const first = this.chunks[0] as Buffer;
    if (first.length >= 4) return first.readInt32LE(0);
    return Buffer.concat(this.chunks).readInt32LE(0);
  }

  private take(length: number): Buffer {
    const first = this.chunks[0] as Buffer;
    let message: Buffer;
    if (first.length >= length) {
      message = first.subarray(0, length);
      if (first.length === length) this.chunks.shift();
      else this.chunks[0] = first.subarray(length);
    } else {
      const parts: Buffer[] = [];
      let needed = length;
      while (needed > 0) {
        const chunk = this.chunks.shift() as Buffer;
        if (chunk.length <= needed) {
          parts.push(chunk);
          needed -= chunk.length;
        } else {
          parts.push(chunk.subarray(0, needed));
          this.chunks.unshift(chunk.subarray(needed));
          needed = 0;
        }
      }
      message = Buffer.concat(parts, length);
    }
    this.buffered -= length;
    return message;
  }
}

export interface MessageHeader {
  length: number;
  requestId: number;
  responseTo: number;
  opCode: number;
}

export function readHeader(message: Buffer): MessageHeader {
  return {
    length: message.readInt32LE(0),
    requestId: message.readInt32LE(4),
    responseTo: message.readInt32LE(8),
    opCode: message.readInt32LE(12),
  };
}

/** One BSON document at `offset` that must end by `end`; returns it and its size. */
function readDocument(message: Buffer, offset: number, end: number): { doc: Doc; size: number } {
  if (offset + 5 > end) throw new ProtocolError('truncated BSON document');
  const size = message.readInt32LE(offset);
  if (size < 5 || offset + size > end) throw new ProtocolError('BSON document size out of bounds');
  try {
    return { doc: deserialize(message.subarray(offset, offset + size), BSON_READ_OPTIONS), size };
  } catch (error) {
    throw new ProtocolError(`malformed BSON: ${(error as Error).message}`);
  }
}

function readCString(
  message: Buffer,
  offset: number,
  end: number,
): { value: string; next: number } {
  const zero = message.indexOf(0, offset);
  if (zero < 0 || zero >= end) throw new ProtocolError('unterminated string');
  return { value: message.toString('utf8', offset, zero), next: zero + 1 };
}

export interface OpMsgRequest {
  body: Doc;
  /** The client expects no reply (unacknowledged writes). */
  moreToCome: boolean;
  exhaustAllowed: boolean;
}

/**
 * An OP_MSG: flag bits, then sections — one body (kind 0) and any number of
 * document sequences (kind 1), which join the body under their identifier
 * (the driver sends `documents`, `updates` and `deletes` this way).
 */
export function parseOpMsg(message: Buffer): OpMsgRequest {
  if (message.length < HEADER_BYTES + 4) throw new ProtocolError('OP_MSG too short');
  const flags = message.readUInt32LE(HEADER_BYTES);
  if ((flags & 0xffff & ~KNOWN_REQUIRED_FLAGS) !== 0) {
    throw new ProtocolError(`unknown required OP_MSG flags ${flags.toString(2)}`);
  }
  // The checksum is for the transport; TCP on loopback already guards the bytes.
  const end = flags & CHECKSUM_PRESENT ? message.length - 4 : message.length;
  let offset = HEADER_BYTES + 4;
  let body: Doc | undefined;
  const sequences: [string, Doc[]][] = [];
  while (offset < end) {
    const kind = message[offset];
    offset += 1;
    if (kind === 0) {
      if (body) throw new ProtocolError('OP_MSG with two body sections');
      const { doc, size } = readDocument(message, offset, end);
      body = doc;
      offset += size;
    } else if (kind === 1) {
      if (offset + 4 > end) throw new ProtocolError('truncated document sequence');
      const size = message.readInt32LE(offset);
      const sequenceEnd = offset + size;
      if (size < 5 || sequenceEnd > end) throw new ProtocolError('document sequence out of bounds');
      const { value: identifier, next } = readCString(message, offset + 4, sequenceEnd);
      const docs: Doc[] = [];
      let position = next;
      while (position < sequenceEnd) {
        const { doc, size: docSize } = readDocument(message, position, sequenceEnd);
        docs.push(doc);
        position += docSize;
      }
      sequences.push([identifier, docs]);
      offset = sequenceEnd;
    } else {
      throw new ProtocolError(`unknown OP_MSG section kind ${String(kind)}`);
    }
  }
  if (!body) throw new ProtocolError('OP_MSG without a body section');
  for (const [identifier, docs] of sequences) {
    if (Object.prototype.hasOwnProperty.call(body, identifier)) {
      throw new ProtocolError(`OP_MSG field '${identifier}' given twice`);
    }
    body[identifier] = docs;
  }
  return {
    body,
    moreToCome: (flags & MORE_TO_COME) !== 0,
    exhaustAllowed: (flags & EXHAUST_ALLOWED) !== 0,
  };
}

export interface OpQueryRequest {
  /** `<db>.$cmd` for a command. */
  fullCollectionName: string;
  query: Doc;
}

/** A legacy OP_QUERY: flags, collection name, skip, return count, the query document. */
export function parseOpQuery(message: Buffer): OpQueryRequest {
  const { value: fullCollectionName, next } = readCString(
    message,
    HEADER_BYTES + 4,
    message.length,
  );
  const { doc } = readDocument(message, next + 8, message.length);
  // Old drivers wrap the command with read preferences: { $query: { hello: 1 }, ... }.
  const wrapped = doc['$query'];
  const query =
    wrapped !== null && typeof wrapped === 'object' && !Array.isArray(wrapped)
      ? (wrapped as Doc)
      : doc;
  return { fullCollectionName, query };
}

function header(length: number, responseTo: number, opCode: number): Buffer {
  const bytes = Buffer.alloc(HEADER_BYTES);
  bytes.writeInt32LE(length, 0);
  bytes.writeInt32LE(0, 4);
  bytes.writeInt32LE(responseTo, 8);
  bytes.writeInt32LE(opCode, 12);
  return bytes;
}

let nextReplyId = 1;

function withRequestId(message: Buffer): Buffer {
  nextReplyId = (nextReplyId % 0x7fffffff) + 1;
  message.writeInt32LE(nextReplyId, 4);
  return message;
}

/** An OP_MSG reply: no flags, one body section. */
export function encodeOpMsg(responseTo: number, reply: Doc): Buffer {
  const body = serialize(reply, BSON_WRITE_OPTIONS);
  const length = HEADER_BYTES + 4 + 1 + body.length;
  const message = Buffer.allocUnsafe(length);
  header(length, responseTo, OP_MSG).copy(message, 0);
  message.writeUInt32LE(0, HEADER_BYTES);
  message[HEADER_BYTES + 4] = 0;
  message.set(body, HEADER_BYTES + 5);
  return withRequestId(message);
}

/** An OP_REPLY (to an OP_QUERY): flags 0, cursor id 0, starting at 0, one document. */
export function encodeOpReply(responseTo: number, reply: Doc): Buffer {
  const body = serialize(reply, BSON_WRITE_OPTIONS);
  const length = HEADER_BYTES + 20 + body.length;
  const message = Buffer.alloc(length);
  header(length, responseTo, OP_REPLY).copy(message, 0);
  message.writeInt32LE(0, HEADER_BYTES);
  message.writeBigInt64LE(0n, HEADER_BYTES + 4);
  message.writeInt32LE(0, HEADER_BYTES + 12);
  message.writeInt32LE(1, HEADER_BYTES + 16);
  message.set(body, HEADER_BYTES + 20);
  return withRequestId(message);
}
