// Standalone CloudFlow: `node dist/apps/standalone/src/main.js [--example]`.
import { tracing } from './tracing';
import { runPublishedExample } from './example';
import { startStandalone } from './standalone';

const say = (line: string) => process.stdout.write(`[cloudflow] ${line}\n`);

/**
 * Starts standalone mode in the foreground; with --example, runs the
 * published API's example against it (pipeline, job on /fake/data.csv,
 * status, result rows). Ctrl-C or SIGTERM stops it cleanly.
 */
async function main(argv: string[]): Promise<void> {
  const started = Date.now();
  const server = await startStandalone();
  say(`standalone CloudFlow is running: ${server.apiUrl} (ready in ${Date.now() - started} ms)`);
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: stopping`);
    const deadline = setTimeout(() => process.exit(1), 15_000);
    deadline.unref();
    await server.stop().catch((error: unknown) => {
      process.exitCode = 1;
      say(`stopping: ${error instanceof Error ? error.message : String(error)}`);
    });
    // Spans still buffered get a moment to leave; an exporter that cannot be reached gets no more.
    await Promise.race([
      tracing?.shutdown(),
      new Promise((resolve) => setTimeout(resolve, 2_000).unref()),
    ]);
    process.exit();
  };
  process.on('SIGINT', (s) => void stop(s));
  process.on('SIGTERM', (s) => void stop(s));

  if (argv.includes('--example')) {
    // A failed example is reported; the server keeps running for you to look into it.
    await runPublishedExample(server.apiUrl, server.apiKey, say).catch((error: unknown) =>
      say(
        `the published example failed: ${error instanceof Error ? error.message : String(error)}`,
      ),
    );
  }
  say(`API:      ${server.apiUrl}   (interactive reference: ${server.baseUrl}/docs)`);
  say(`API key:  ${server.apiKey}`);
  say(`  curl -H 'Authorization: ApiKey ${server.apiKey}' ${server.apiUrl}/pipelines`);
  say(`data root: ${server.dataDir}; state: ${server.home}`);
  say('press Ctrl-C to stop');
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`[cloudflow] standalone mode could not start: ${message}\n`);
  if (process.env['CLOUDFLOW_DEBUG'] && error instanceof Error) {
    process.stderr.write(`${error.stack}\n`);
  }
  process.exit(1);
});
