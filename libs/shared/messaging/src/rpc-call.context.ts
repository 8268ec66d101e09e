import { BaseRpcContext } from '@nestjs/microservices';

/** What an RPC handler can learn about the call besides its payload. */
export class RpcCallContext extends BaseRpcContext<
  [pattern: string, requestId: string | undefined, correlationId: string]
> {
  get pattern(): string {
    return this.args[0];
  }

  get requestId(): string | undefined {
    return this.args[1];
  }

  get correlationId(): string {
    return this.args[2];
  }
}
