import { z } from 'zod';
import { AppError } from '../errors/app-error';
import { ErrorCode } from '../errors/error-codes';

export const SCOPES = ['read', 'write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/**
 * Who is calling: established once by the gateway, then carried with every
 * RPC so that each service enforces the workspace boundary itself.
 */
export const PrincipalSchema = z.object({
  workspaceId: z.string().min(1),
  subject: z.object({ kind: z.enum(['api-key', 'user', 'client']), id: z.string().min(1) }),
  scopes: z.array(z.enum(SCOPES)),
});
export type Principal = z.infer<typeof PrincipalSchema>;

export const DEFAULT_WORKSPACE_ID = 'ws_default';

/** SHA-256 hex of an API key: the only form in which a key leaves the gateway. */
export const ApiKeyHashSchema = z.string().regex(/^[0-9a-f]{64}$/);

/** Mutations need `write`; `admin` implies everything. */
export function hasScope(principal: Principal, scope: Scope): boolean {
  return principal.scopes.includes('admin') || principal.scopes.includes(scope);
}

/** Refuses a credential that lacks `scope`, saying which scope is missing. */
export function requireScope(principal: Principal, scope: Scope): void {
  if (!hasScope(principal, scope)) {
    throw new AppError(
      ErrorCode.Forbidden,
      `This credential lacks the '${scope}' scope this operation requires`,
    );
  }
}
