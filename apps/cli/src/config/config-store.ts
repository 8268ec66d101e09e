import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { UsageError } from '../cli-errors';

const ApiKeyCredentialSchema = z.object({ kind: z.literal('api-key'), apiKey: z.string().min(1) });

const OAuthCredentialSchema = z.object({
  kind: z.literal('oauth'),
  clientId: z.string().min(1),
  accessToken: z.string().min(1),
  refreshToken: z.string().min(1).optional(),
  /** ISO time the access token stops working. */
  expiresAt: z.string(),
  scope: z.string().optional(),
});

export const StoredCredentialSchema = z.discriminatedUnion('kind', [
  ApiKeyCredentialSchema,
  OAuthCredentialSchema,
]);
export type StoredCredential = z.infer<typeof StoredCredentialSchema>;
export type OAuthCredential = z.infer<typeof OAuthCredentialSchema>;

/** One server and how to sign in to it; the credential is only ever sent to `url`. */
const ProfileSchema = z.object({ url: z.string(), credential: StoredCredentialSchema });
export type Profile = z.infer<typeof ProfileSchema>;

const ConfigFileSchema = z.object({
  version: z.literal(1),
  profiles: z.record(z.string(), ProfileSchema),
});
export type ConfigFile = z.infer<typeof ConfigFileSchema>;

/**
 * `$XDG_CONFIG_HOME/cloudflow/config.json` (`~/.config/cloudflow/` by
 * default). It holds secrets: the directory is 0700 and the file 0600, and a
 * write goes to a private temporary file renamed into place, so that the file
 * is never readable by others nor half-written.
 */
export class ConfigStore {
  constructor(readonly path: string) {}

  static locate(env: NodeJS.ProcessEnv): ConfigStore {
    const xdg = env['XDG_CONFIG_HOME'];
    // The XDG spec: a relative value is invalid and must be ignored.
    const base = xdg && isAbsolute(xdg) ? xdg : join(env['HOME'] || homedir(), '.config');
    return new ConfigStore(join(base, 'cloudflow', 'config.json'));
  }

  read(): ConfigFile {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, profiles: {} };
      throw error;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const result = ConfigFileSchema.safeParse(parsed);
    if (!result.success) {
      throw new UsageError(
        `${this.path} is not a CloudFlow configuration file; fix or delete it, then log in again`,
      );
    }
    return result.data;
  }

  write(config: ConfigFile): void {
    const dir = dirname(this.path);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // mkdir leaves an existing directory's mode alone (and applies the umask).
    chmodSync(dir, 0o700);
    const temporary = `${this.path}.${process.pid}.tmp`;
    try {
      writeFileSync(temporary, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600, flag: 'w' });
      chmodSync(temporary, 0o600);
      renameSync(temporary, this.path);
    } catch (error) {
      rmSync(temporary, { force: true });
      throw error;
    }
  }

  profile(name: string): Profile | undefined {
    return this.read().profiles[name];
  }

  saveProfile(name: string, profile: Profile): void {
    const config = this.read();
    config.profiles[name] = profile;
    this.write(config);
  }

  /** Answers whether there was a profile to remove. */
  removeProfile(name: string): boolean {
    const config = this.read();
    if (!(name in config.profiles)) return false;
    delete config.profiles[name];
    this.write(config);
    return true;
  }
}
