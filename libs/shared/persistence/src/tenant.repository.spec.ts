import type { Model } from 'mongoose';
import { TenantRepository, decodeCursor, encodeCursor } from './tenant.repository';

describe('pagination cursors', () => {
  it.each([
    'pl_0192f1c4-7a3b-7c1d-9e2f-0123456789ab',
    'key_1',
    'a',
    'ünïcødé-id',
    'id with spaces/and+slashes=',
  ])('round-trips the id %p', (id) => {
    const cursor = encodeCursor(id);
    expect(decodeCursor(cursor)).toBe(id);
  });

  it('issues cursors that are safe in a query string and match the list query pattern', () => {
    const cursor = encodeCursor('pl_0192f1c4-7a3b-7c1d-9e2f-0123456789ab?&=/+');
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('does not show the id in plain text', () => {
    expect(encodeCursor('pl_abc')).not.toContain('pl_abc');
  });

  it('decodes a tampered cursor to undefined', () => {
    const cursor = encodeCursor('pl_0192f1c4-7a3b-7c1d-9e2f-0123456789ab');
    expect(decodeCursor(`${cursor}!`)).toBeUndefined();
    expect(decodeCursor(`${cursor.slice(0, -1)}*`)).toBeUndefined();
    expect(decodeCursor(`${cursor}=`)).toBeUndefined();
    expect(decodeCursor(cursor.replace(/./, ' '))).toBeUndefined();
  });

  it.each([
    ['padding', 'cGxfMQ=='],
    ['standard base64 characters', 'a+b/'],
    ['non-canonical trailing bits', 'QR'],
    ['bytes that are not UTF-8', '____'],
    ['an opaque string', 'not a cursor'],
  ])('decodes a cursor with %s to undefined', (_label, cursor) => {
    expect(decodeCursor(cursor)).toBeUndefined();
  });
});

interface Doc {
  _id: string;
  workspaceId: string;
  name: string;
}

/** A mongoose query stand-in: every builder call returns itself, exec() resolves to `result`. */
interface FakeQuery<R> {
  sort: jest.Mock<FakeQuery<R>, [unknown]>;
  limit: jest.Mock<FakeQuery<R>, [number]>;
  lean: jest.Mock<FakeQuery<R>, []>;
  exec: jest.Mock<Promise<R>, []>;
}

function query<R>(result: R): FakeQuery<R> {
  const q: FakeQuery<R> = {
    sort: jest.fn((_order: unknown) => q),
    limit: jest.fn((_n: number) => q),
    lean: jest.fn(() => q),
    exec: jest.fn(() => Promise.resolve(result)),
  };
  return q;
}

class DocsRepository extends TenantRepository<Doc> {
  constructor(model: Model<Doc>) {
    super(model);
  }
}

function docs(...ids: string[]): Doc[] {
  return ids.map((id) => ({ _id: id, workspaceId: 'ws_a', name: id }));
}

describe('TenantRepository', () => {
  const scope = { workspaceId: 'ws_a' };

  function repositoryWith(model: Record<string, jest.Mock>): DocsRepository {
    return new DocsRepository(model as unknown as Model<Doc>);
  }

  it('always queries inside the workspace, even when the filter names another one', async () => {
    const findOne = jest.fn(() => query(null));
    const deleteOne = jest.fn(() => query({ deletedCount: 0 }));
    const repo = repositoryWith({ findOne, deleteOne });

    await repo.findById(scope, 'x_1');
    await repo.deleteOne(scope, { _id: 'x_1', workspaceId: 'ws_other' });

    expect(findOne).toHaveBeenCalledWith({ _id: 'x_1', workspaceId: 'ws_a' });
    expect(deleteOne).toHaveBeenCalledWith({ _id: 'x_1', workspaceId: 'ws_a' });
  });

  it('stamps inserted documents with the workspace of the scope', async () => {
    const insertMany = jest.fn((rows: Doc[]) => Promise.resolve(rows));
    const repo = repositoryWith({ insertMany });

    const created = await repo.insert(scope, { _id: 'x_1', name: 'n' });

    expect(created).toEqual({ _id: 'x_1', name: 'n', workspaceId: 'ws_a' });
    expect(insertMany).toHaveBeenCalledWith([{ _id: 'x_1', name: 'n', workspaceId: 'ws_a' }], {
      lean: true,
    });
  });

  it('answers whether deleteOne removed a document', async () => {
    const repo = repositoryWith({ deleteOne: jest.fn(() => query({ deletedCount: 1 })) });
    await expect(repo.deleteOne(scope, { _id: 'x_1' })).resolves.toBe(true);
    const empty = repositoryWith({ deleteOne: jest.fn(() => query({ deletedCount: 0 })) });
    await expect(empty.deleteOne(scope, { _id: 'x_1' })).resolves.toBe(false);
  });

  it('returns a full page with a cursor that resumes after its last item', async () => {
    const rows = query(docs('x_1', 'x_2', 'x_3'));
    const find = jest.fn(() => rows);
    const repo = repositoryWith({ find });

    const page = await repo.findPage(scope, { limit: 2 });

    expect(page.items.map((d) => d._id)).toEqual(['x_1', 'x_2']);
    expect(page.nextCursor).not.toBeNull();
    expect(decodeCursor(page.nextCursor!)).toBe('x_2');
    expect(find).toHaveBeenCalledWith({ workspaceId: 'ws_a' });
    expect(rows.sort).toHaveBeenCalledWith({ _id: 1 });
    expect(rows.limit).toHaveBeenCalledWith(3);
  });

  it('continues after the id in the cursor and ends the last page with a null cursor', async () => {
    const find = jest.fn(() => query(docs('x_3')));
    const repo = repositoryWith({ find });

    const page = await repo.findPage(scope, { limit: 2, cursor: encodeCursor('x_2') });

    expect(page).toEqual({ items: docs('x_3'), nextCursor: null });
    expect(find).toHaveBeenCalledWith({ _id: { $gt: 'x_2' }, workspaceId: 'ws_a' });
  });

  it('gives a null cursor when the page is exactly full and nothing follows', async () => {
    const repo = repositoryWith({ find: jest.fn(() => query(docs('x_1', 'x_2'))) });
    await expect(repo.findPage(scope, { limit: 2 })).resolves.toEqual({
      items: docs('x_1', 'x_2'),
      nextCursor: null,
    });
  });
});
