import { createServer, type Server } from 'node:http';
import { SPEC_CREATE_PIPELINE_BODY, freePort } from '@cloudflow/testing';
import { Stack, eventually } from './support/stack';

/**
 * With OTEL_EXPORTER_OTLP_ENDPOINT set, every service exports its spans over
 * OTLP/HTTP; a request through the gateway produces spans in the gateway and
 * in the service it called.
 */
describe('Trace export over OTLP (distributed stack)', () => {
  let stack: Stack;
  let collector: Server;
  const exports: { path: string; contentType: string; body: Buffer }[] = [];

  beforeAll(async () => {
    const port = await freePort();
    collector = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        exports.push({
          path: req.url ?? '',
          contentType: req.headers['content-type'] ?? '',
          body: Buffer.concat(chunks),
        });
        res.writeHead(200, { 'Content-Type': 'application/x-protobuf' }).end();
      });
    });
    await new Promise<void>((resolve) => collector.listen(port, '127.0.0.1', resolve));
    stack = await Stack.start({
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_BSP_SCHEDULE_DELAY: '200',
    });
  });

  afterAll(async () => {
    await stack?.stop();
    await new Promise((resolve) => collector.close(resolve));
  });

  it('exports spans from the gateway and from the service it called', async () => {
    const res = await stack.api().post('/api/v1/pipelines', SPEC_CREATE_PIPELINE_BODY);
    expect(res.status).toBe(201);
    const exportedBy = (service: string) =>
      exports.some(
        (e) =>
          e.path === '/v1/traces' &&
          e.body.includes(Buffer.from(`cloudflow-${service}`)) &&
          e.body.includes(Buffer.from('rpc pipelines.create')),
      );
    await eventually(async () => exportedBy('gateway') && exportedBy('pipeline-registry'), 15_000);
    expect(exports.every((e) => e.contentType.startsWith('application/x-protobuf'))).toBe(true);
  });
});
