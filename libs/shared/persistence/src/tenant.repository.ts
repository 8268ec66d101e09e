import { AppError, ErrorCode, type Principal } from '@cloudflow/contracts';
import type { Model, QueryFilter, UpdateQuery } from 'mongoose';

/** The workspace a query runs in. Every repository method requires one. */
export interface WorkspaceScope {
  readonly workspaceId: string;
}

/** Documents owned by a workspace. Ids are strings CloudFlow generates. */
export interface TenantDocument {
  _id: string;
  workspaceId: string;
}

export interface PageRequest {
  limit: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
}

export interface PageResult<T> {
  items: T[];
  nextCursor: string | null;
}

/**
 * Base of every repository over workspace-owned data: each query is built
 * from a WorkspaceScope, so forgetting the tenant is a type error, not a
 * data leak. Only repositories touch mongoose.
 *
 * Kept to what both MongoDB and FerretDB support: single-document atomic
 * updates, unique indexes, upserts; no transactions or change streams.
 */
export abstract class TenantRepository<T extends TenantDocument> {
  protected constructor(protected readonly model: Model<T>) {}

  protected scoped(
    scope: WorkspaceScope,
    filter: QueryFilter<T> = {} as QueryFilter<T>,
  ): QueryFilter<T> {
    return { ...filter, workspaceId: scope.workspaceId } as QueryFilter<T>;
  }

  async findById(scope: WorkspaceScope, id: string): Promise<T | null> {
    return this.model
      .findOne(this.scoped(scope, { _id: id } as QueryFilter<T>))
      .lean<T>()
      .exec();
  }

  async insert(scope: WorkspaceScope, doc: Omit<T, 'workspaceId'>): Promise<T> {
    const [created] = await this.model.insertMany(
      [{ ...doc, workspaceId: scope.workspaceId } as T],
      {
        lean: true,
      },
    );
    return created as unknown as T;
  }

  /** Atomically updates one document matching `filter`; null when none matched. */
  async findOneAndUpdate(
    scope: WorkspaceScope,
    filter: QueryFilter<T>,
    update: UpdateQuery<T>,
  ): Promise<T | null> {
    return this.model
      .findOneAndUpdate(this.scoped(scope, filter), update, { returnDocument: 'after' })
      .lean<T>()
      .exec();
  }

  async deleteOne(scope: WorkspaceScope, filter: QueryFilter<T>): Promise<boolean> {
    const result = await this.model.deleteOne(this.scoped(scope, filter)).exec();
    return result.deletedCount === 1;
  }

  /**
   * Keyset pagination in `_id` order. Ids are time-ordered (UUIDv7), so pages
   * come oldest first and stay stable while documents are added.
   */
  async findPage(
    scope: WorkspaceScope,
    page: PageRequest,
    filter: QueryFilter<T> = {} as QueryFilter<T>,
  ): Promise<PageResult<T>> {
    const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
    // Callers validate cursors; never answer a bad one with the first page.
    if (page.cursor !== undefined && after === undefined) throw new Error('invalid page cursor');
    const query =
      after === undefined ? filter : ({ ...filter, _id: { $gt: after } } as QueryFilter<T>);
    const rows = await this.model
      .find(this.scoped(scope, query))
      .sort({ _id: 1 })
      .limit(page.limit + 1)
      .lean<T[]>()
      .exec();
    const items = rows.slice(0, page.limit);
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > page.limit && last ? encodeCursor(last._id) : null };
  }
}

export function encodeCursor(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url');
}

/** The workspace a caller acts in: the scope of every repository call made for it. */
export function scopeOf(principal: Pick<Principal, 'workspaceId'>): WorkspaceScope {
  return { workspaceId: principal.workspaceId };
}

/** Undefined for a cursor this API did not issue. */
export function decodeCursor(cursor: string): string | undefined {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  return encodeCursor(id) === cursor ? id : undefined;
}

/**
 * Refuses (400/4002) a cursor this API did not hand out, or one of another
 * listing (`belongs`), instead of silently starting over at page one.
 */
export function requireCursor(
  cursor: string | undefined,
  belongs: (id: string) => boolean = () => true,
): void {
  if (cursor === undefined) return;
  const id = decodeCursor(cursor);
  if (id === undefined || !belongs(id)) {
    throw new AppError(
      ErrorCode.ValidationFailed,
      "query parameter 'cursor' is not a cursor returned by this API",
    );
  }
}
