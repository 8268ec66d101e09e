import { deserialize, serialize } from 'bson';
import {
  MessageFramer,
  OP_MSG,
  OP_QUERY,
  OP_REPLY,
  ProtocolError,
  encodeOpMsg,
  encodeOpReply,
  parseOpMsg,
  parseOpQuery,
  readHeader,
} from './wire';

function header(length: number, requestId: number, opCode: number): Buffer {
  const bytes = Buffer.alloc(16);
  bytes.writeInt32LE(length, 0);
  bytes.writeInt32LE(requestId, 4);
  bytes.writeInt32LE(0, 8);
  bytes.writeInt32LE(opCode, 12);
  return bytes;
}

/** An OP_MSG as a driver builds it: a body and optional document sequences. */
function opMsg(
  body: object,
  sequences: [string, object[]][] = [],
  flags = 0,
  checksum = false,
): Buffer {
  const parts: Buffer[] = [Buffer.alloc(4), Buffer.from([0]), Buffer.from(serialize(body))];
  parts[0]!.writeUInt32LE(flags | (checksum ? 1 : 0));
  for (const [identifier, docs] of sequences) {
    const payload = Buffer.concat([
      Buffer.from(`${identifier}\0`, 'utf8'),
      ...docs.map((doc) => Buffer.from(serialize(doc))),
    ]);
    const size = Buffer.alloc(4);
    size.writeInt32LE(payload.length + 4);
    parts.push(Buffer.from([1]), size, payload);
  }
  if (checksum) parts.push(Buffer.alloc(4));
  const rest = Buffer.concat(parts);
  return Buffer.concat([header(16 + rest.length, 7, OP_MSG), rest]);
}

describe('MessageFramer', () => {
  it('cuts messages out of any chunking', () => {
    const a = opMsg({ ping: 1, $db: 'admin' });
    const b = opMsg({ hello: 1, $db: 'admin' });
    const stream = Buffer.concat([a, b, a]);
    for (const step of [1, 3, 7, 16, 50, stream.length]) {
      const framer = new MessageFramer();
      const out: Buffer[] = [];
      for (let i = 0; i < stream.length; i += step)
        out.push(...framer.push(stream.subarray(i, i + step)));
      expect(out.map((m) => m.toString('hex'))).toEqual([a, b, a].map((m) => m.toString('hex')));
    }
  });

  it('refuses lengths shorter than a header or over the maximum message size', () => {
    const short = Buffer.alloc(4);
    short.writeInt32LE(15);
    expect(() => new MessageFramer().push(short)).toThrow(ProtocolError);
    const long = Buffer.alloc(4);
    long.writeInt32LE(48_000_001);
    expect(() => new MessageFramer().push(long)).toThrow(ProtocolError);
    const negative = Buffer.alloc(4);
    negative.writeInt32LE(-1);
    expect(() => new MessageFramer().push(negative)).toThrow(ProtocolError);
  });
});

describe('OP_MSG', () => {
  it('merges document sequences into the body and skips a checksum', () => {
    const message = opMsg(
      { insert: 'c', $db: 'app', ordered: false },
      [['documents', [{ _id: 1 }, { _id: 2 }]]],
      0,
      true,
    );
    expect(parseOpMsg(message)).toEqual({
      body: { insert: 'c', $db: 'app', ordered: false, documents: [{ _id: 1 }, { _id: 2 }] },
      moreToCome: false,
      exhaustAllowed: false,
    });
  });

  it('reads moreToCome (no reply wanted) and exhaustAllowed', () => {
    const request = parseOpMsg(opMsg({ insert: 'c', $db: 'app' }, [], (1 << 1) | (1 << 16)));
    expect(request.moreToCome).toBe(true);
    expect(request.exhaustAllowed).toBe(true);
  });

  it('refuses malformed messages', () => {
    const good = opMsg({ ping: 1, $db: 'admin' });
    const badBson = Buffer.from(good);
    badBson[good.length - 1] = 7; // the document's terminating zero
    expect(() => parseOpMsg(badBson)).toThrow(ProtocolError);
    const unknownKind = Buffer.from(good);
    unknownKind[20] = 5;
    expect(() => parseOpMsg(unknownKind)).toThrow(/section kind/);
    expect(() => parseOpMsg(opMsg({ ping: 1 }, [], 1 << 3))).toThrow(/flags/);
    const noBody = Buffer.concat([header(20, 1, OP_MSG), Buffer.alloc(4)]);
    expect(() => parseOpMsg(noBody)).toThrow(/without a body/);
    const twice = opMsg({ insert: 'c', documents: [] }, [['documents', [{}]]]);
    expect(() => parseOpMsg(twice)).toThrow(/given twice/);
    const sizeLies = Buffer.from(good);
    sizeLies.writeInt32LE(1000, 21);
    expect(() => parseOpMsg(sizeLies)).toThrow(ProtocolError);
  });

  it('encodes a reply that answers the request id', () => {
    const reply = encodeOpMsg(42, { ok: 1 });
    expect(readHeader(reply)).toMatchObject({
      length: reply.length,
      responseTo: 42,
      opCode: OP_MSG,
    });
    expect(parseOpMsg(reply).body).toEqual({ ok: 1 });
  });
});

describe('OP_QUERY handshake', () => {
  it('reads the command, unwrapping $query, and answers with an OP_REPLY', () => {
    const query = Buffer.from(serialize({ $query: { isMaster: 1 }, $readPreference: {} }));
    const rest = Buffer.concat([
      Buffer.alloc(4),
      Buffer.from('admin.$cmd\0'),
      Buffer.alloc(8),
      query,
    ]);
    const message = Buffer.concat([header(16 + rest.length, 3, OP_QUERY), rest]);
    expect(parseOpQuery(message)).toEqual({
      fullCollectionName: 'admin.$cmd',
      query: { isMaster: 1 },
    });

    const reply = encodeOpReply(3, { ismaster: true, ok: 1 });
    expect(readHeader(reply)).toMatchObject({
      length: reply.length,
      responseTo: 3,
      opCode: OP_REPLY,
    });
    expect(reply.readInt32LE(32)).toBe(1); // numberReturned
    expect(deserialize(reply.subarray(36))).toEqual({ ismaster: true, ok: 1 });
  });
});
