import mongoose, { Schema, type Connection, type Model } from 'mongoose';
import { uniqueName, withDatabase } from '@cloudflow/testing';
import { newId } from './ids';
import { TenantRepository, type TenantDocument } from './tenant.repository';

interface Widget extends TenantDocument {
  label: string;
  size: number;
}

class WidgetsRepository extends TenantRepository<Widget> {
  constructor(model: Model<Widget>) {
    super(model);
  }
}

const WidgetSchema = new Schema<Widget>(
  {
    _id: { type: String, required: true },
    workspaceId: { type: String, required: true },
    label: { type: String, required: true },
    size: { type: Number, required: true },
  },
  { versionKey: false },
);
WidgetSchema.index({ workspaceId: 1, _id: 1 });

describe('TenantRepository on a real MongoDB-wire server', () => {
  let connection: Connection;
  let widgets: WidgetsRepository;
  const a = { workspaceId: 'ws_a' };
  const b = { workspaceId: 'ws_b' };

  beforeAll(async () => {
    connection = await mongoose
      .createConnection(withDatabase(process.env['MONGO_URL']!, uniqueName('it_tenant')))
      .asPromise();
    const model = connection.model<Widget>('widgets', WidgetSchema);
    await model.createIndexes();
    widgets = new WidgetsRepository(model);
  });

  afterAll(async () => {
    await connection.dropDatabase();
    await connection.close();
  });

  it('stores a document in the scope it was inserted in and hides it from every other workspace', async () => {
    const id = newId('wd');
    const stored = await widgets.insert(a, { _id: id, label: 'left', size: 1 });
    expect(stored).toMatchObject({ _id: id, workspaceId: 'ws_a', label: 'left' });

    expect(await widgets.findById(a, id)).toMatchObject({ _id: id, label: 'left' });
    expect(await widgets.findById(b, id)).toBeNull();
  });

  it('updates and deletes only within the caller’s workspace', async () => {
    const id = newId('wd');
    await widgets.insert(a, { _id: id, label: 'shared-name', size: 1 });

    expect(
      await widgets.findOneAndUpdate(b, { _id: id }, { $set: { label: 'stolen' } }),
    ).toBeNull();
    expect(await widgets.deleteOne(b, { _id: id })).toBe(false);

    const updated = await widgets.findOneAndUpdate(
      a,
      { _id: id },
      { $set: { label: 'renamed' }, $inc: { size: 1 } },
    );
    expect(updated).toMatchObject({ label: 'renamed', size: 2 });
    expect(await widgets.deleteOne(a, { _id: id })).toBe(true);
    expect(await widgets.findById(a, id)).toBeNull();
  });

  it('pages through a workspace in creation order with stable cursors', async () => {
    const scope = { workspaceId: uniqueName('ws_page') };
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const id = newId('wd');
      ids.push(id);
      await widgets.insert(scope, { _id: id, label: `w${i}`, size: i });
    }
    // Another workspace's documents never appear in the pages.
    await widgets.insert(
      { workspaceId: 'ws_noise' },
      { _id: newId('wd'), label: 'noise', size: 0 },
    );

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await widgets.findPage(scope, { limit: 3, cursor });
      seen.push(...page.items.map((w) => w._id));
      expect(page.items.length).toBeLessThanOrEqual(3);
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor);

    expect(pages).toBe(3);
    expect(seen).toEqual(ids);
  });
});
