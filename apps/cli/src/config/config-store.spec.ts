import { chmodSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempConfigHome } from '../testing/cli-harness';
import { UsageError } from '../cli-errors';
import { ConfigStore } from './config-store';

const PROFILE = {
  url: 'http://127.0.0.1:8080',
  credential: { kind: 'api-key' as const, apiKey: 'cfk_secret' },
};

describe('ConfigStore', () => {
  it('lives in $XDG_CONFIG_HOME/cloudflow/config.json, else ~/.config/cloudflow', () => {
    expect(ConfigStore.locate({ XDG_CONFIG_HOME: '/x/config', HOME: '/home/ada' }).path).toBe(
      '/x/config/cloudflow/config.json',
    );
    expect(ConfigStore.locate({ HOME: '/home/ada' }).path).toBe(
      '/home/ada/.config/cloudflow/config.json',
    );
    // The XDG spec: a relative XDG_CONFIG_HOME is ignored.
    expect(ConfigStore.locate({ XDG_CONFIG_HOME: 'rel', HOME: '/home/ada' }).path).toBe(
      '/home/ada/.config/cloudflow/config.json',
    );
  });

  it('writes the file 0600 in a directory 0700, whatever the umask', () => {
    const home = tempConfigHome();
    const store = ConfigStore.locate({ XDG_CONFIG_HOME: home });
    const umask = process.umask(0o000);
    try {
      store.saveProfile('default', PROFILE);
    } finally {
      process.umask(umask);
    }

    expect(statSync(store.path).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, 'cloudflow')).mode & 0o777).toBe(0o700);
    expect(store.profile('default')).toEqual(PROFILE);
  });

  it('tightens a directory and file that others could read', () => {
    const home = tempConfigHome();
    const dir = join(home, 'cloudflow');
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ version: 1, profiles: {} }), {
      mode: 0o644,
    });
    const store = ConfigStore.locate({ XDG_CONFIG_HOME: home });

    store.saveProfile('default', PROFILE);

    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(store.path).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['config.json']);
  });

  it('keeps other profiles when one is saved or removed', () => {
    const store = ConfigStore.locate({ XDG_CONFIG_HOME: tempConfigHome() });
    store.saveProfile('default', PROFILE);
    store.saveProfile('prod', { ...PROFILE, url: 'https://cloudflow.example.com' });

    expect(store.removeProfile('default')).toBe(true);
    expect(store.removeProfile('default')).toBe(false);
    expect(store.read().profiles).toEqual({
      prod: { ...PROFILE, url: 'https://cloudflow.example.com' },
    });
  });

  it('reads nothing from a missing file, and refuses a damaged one in words', () => {
    const home = tempConfigHome();
    const store = ConfigStore.locate({ XDG_CONFIG_HOME: home });
    expect(store.read()).toEqual({ version: 1, profiles: {} });

    mkdirSync(join(home, 'cloudflow'));
    writeFileSync(store.path, '{"version": 1, "profiles": {"default": {"url": 1}}}');

    expect(() => store.read()).toThrow(UsageError);
    expect(() => store.read()).toThrow(/is not a CloudFlow configuration file/);
  });
});
