import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { ConfigStore } from '../config/config-store';
import { runCli, tempConfigHome } from '../testing/cli-harness';

// Standalone mode itself is tested where it lives; here, only what the command does around it.
const stop = jest.fn(() => Promise.resolve());
const startStandalone = jest.fn((_options: unknown) =>
  Promise.resolve({ baseUrl: 'http://127.0.0.1:18080', apiKey: 'cfk_standalone', stop }),
);
jest.mock('../../../standalone/src/standalone', () => ({
  startStandalone: (options: unknown) => startStandalone(options),
}));

describe('cloudflow start', () => {
  beforeEach(() => {
    stop.mockClear();
    startStandalone.mockClear();
  });

  it('starts standalone mode, prints the URL and key, saves them as the login, stops on Ctrl-C', async () => {
    const home = tempConfigHome();
    const signals = new EventEmitter();
    const running = runCli(['start', '--port', '18080', '--data-dir', '/tmp/cf-data'], {
      env: { XDG_CONFIG_HOME: home },
      signals,
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stop).not.toHaveBeenCalled();
    signals.emit('SIGINT');
    const result = await running;

    expect(result.code).toBe(0);
    expect(startStandalone).toHaveBeenCalledWith({ port: 18080, dataDir: '/tmp/cf-data' });
    expect(result.stdout).toContain(
      'CloudFlow is running at http://127.0.0.1:18080\nAPI key: cfk_standalone\n',
    );
    expect(result.stdout).toContain("Saved as your login (profile 'default')");
    expect(result.stderr).toContain('SIGINT: stopping CloudFlow...\nStopped.\n');
    expect(stop).toHaveBeenCalledTimes(1);
    expect(new ConfigStore(join(home, 'cloudflow', 'config.json')).profile('default')).toEqual({
      url: 'http://127.0.0.1:18080',
      credential: { kind: 'api-key', apiKey: 'cfk_standalone' },
    });
    expect(signals.listenerCount('SIGINT') + signals.listenerCount('SIGTERM')).toBe(0);
  });

  it('keeps an existing login, and stops on SIGTERM too', async () => {
    const home = tempConfigHome();
    const store = new ConfigStore(join(home, 'cloudflow', 'config.json'));
    const existing = {
      url: 'https://cloudflow.example.com',
      credential: { kind: 'api-key' as const, apiKey: 'cfk_prod' },
    };
    store.saveProfile('default', existing);
    const signals = new EventEmitter();
    const running = runCli(['start'], { env: { XDG_CONFIG_HOME: home }, signals });
    await new Promise((resolve) => setTimeout(resolve, 50));
    signals.emit('SIGTERM');
    const result = await running;

    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      "Profile 'default' already has a login (https://cloudflow.example.com); to use this server: cloudflow login --url http://127.0.0.1:18080 --api-key <the key above>",
    );
    expect(store.profile('default')).toEqual(existing);
    expect(stop).toHaveBeenCalledTimes(1);
  });
});
