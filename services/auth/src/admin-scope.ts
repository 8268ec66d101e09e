import {
  AppError,
  ErrorCode,
  hasScope,
  requireScope,
  type Principal,
  type Scope,
} from '@cloudflow/contracts';
import { scopeOf, type WorkspaceScope } from '@cloudflow/persistence';

/** Identity administration (keys, users, clients) is for the workspace's admins. */
export function requireAdmin(principal: Principal): WorkspaceScope {
  requireScope(principal, 'admin');
  return scopeOf(principal);
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
