import { Controller, Get, Module, Res, type DynamicModule } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { metricsRegistry, startProcessMetrics } from './metrics';

/**
 * `GET /metrics`: the process registry in Prometheus's text format. No API
 * credential: it is served on the pod's port for Prometheus, never routed by
 * the Ingress (which exposes only the API's paths).
 */
@Controller()
export class MetricsController {
  @Get('metrics')
  async scrape(@Res() reply: FastifyReply): Promise<void> {
    const text = await metricsRegistry.metrics();
    await reply.status(200).header('Content-Type', metricsRegistry.contentType).send(text);
  }
}

export interface MetricsModuleOptions {
  /**
   * Labels the process metrics with the service: set when the process runs
   * one service, left out in standalone mode, whose process runs them all.
   */
  processService?: string;
}

@Module({})
export class MetricsModule {
  static forRoot(options: MetricsModuleOptions): DynamicModule {
    startProcessMetrics(options.processService);
    return { module: MetricsModule, controllers: [MetricsController] };
  }
}
