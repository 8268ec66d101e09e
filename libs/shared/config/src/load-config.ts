import type { z } from 'zod';

/** Raised at boot when the environment does not describe a runnable service. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses the environment with a service's schema, once, at boot. Every problem
 * names the variable, so a misconfigured pod says exactly what to fix.
 */
export function loadConfig<S extends z.ZodObject>(
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<S> {
  // An empty variable (`PORT=` in a compose file) means "not set": defaults apply.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = schema.safeParse(present);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const variable = issue.path.map(String).join('.');
    const value = variable ? env[variable] : undefined;
    if (value === undefined || value === '') return `${variable}: required but not set`;
    return `${variable}: ${issue.message}`;
  });
  throw new ConfigError(problems);
}
