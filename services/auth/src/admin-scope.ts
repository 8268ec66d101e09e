import {
  AppError,
  ErrorCode,
  hasScope,
  requireScope,
  type Principal,
  type Scope,
} from '@cloudflow/contracts';
import { decodeCursor, type WorkspaceScope } from '@cloudflow/persistence';

/** The workspace a principal acts in. */
export function scopeOf(principal: Principal): WorkspaceScope {
  return { workspaceId: principal.workspaceId };
}

/** Identity administration (keys, users, clients) is for the workspace's admins. */
export function requireAdmin(principal: Principal): WorkspaceScope {
  requireScope(principal, 'admin');
  return scopeOf(principal);
}

/** Refuses a cursor this API did not hand out, instead of silently starting over. */
export function requireCursor(cursor: string | undefined): void {
  if (cursor !== undefined && decodeCursor(cursor) === undefined) {
    throw new AppError(
      ErrorCode.ValidationFailed,
      "query parameter 'cursor' is not a cursor returned by this API",
    );
  }
}

/** Nothing created by a principal gets scopes the principal lacks. */
export function requireGrantableScopes(
  principal: Principal,
  scopes: readonly Scope[],
  what: string,
): void {
  const missing = scopes.filter((scope) => !hasScope(principal, scope));
  if (missing.length > 0) {
    throw new AppError(
      ErrorCode.Forbidden,
      `${what} cannot get scopes its creator lacks: ${missing.join(', ')}`,
    );
  }
}
