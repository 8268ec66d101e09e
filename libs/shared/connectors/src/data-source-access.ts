import type { Provider } from '@nestjs/common';
import { RpcClient } from '@cloudflow/messaging';
import { DataSourceClient } from './data-source-client';
import { NetworkPolicy } from './network-policy';

/** How a service reaches data sources: the outbound policy and the bound on each wait. */
export interface DataSourceAccess {
  policy: NetworkPolicy;
  timeoutMs: number;
}

export const DATA_SOURCE_ACCESS = Symbol('DATA_SOURCE_ACCESS');

/**
 * Providers for a service that runs a job's work against data sources (the
 * scheduler plans, workers read and write): the broker client and the
 * network policy, from the DATASOURCE_* settings every such service shares.
 */
export function dataSourceAccessProviders(settings: {
  DATASOURCE_ALLOW_LOOPBACK: boolean;
  DATASOURCE_ALLOW_PRIVATE: boolean;
  DATASOURCE_TIMEOUT_MS: number;
}): Provider[] {
  return [
    {
      provide: DataSourceClient,
      useFactory: (rpc: RpcClient) => new DataSourceClient(rpc),
      inject: [RpcClient],
    },
    {
      provide: DATA_SOURCE_ACCESS,
      useValue: {
        policy: new NetworkPolicy({
          allowLoopback: settings.DATASOURCE_ALLOW_LOOPBACK,
          allowPrivate: settings.DATASOURCE_ALLOW_PRIVATE,
        }),
        timeoutMs: settings.DATASOURCE_TIMEOUT_MS,
      } satisfies DataSourceAccess,
    },
  ];
}
