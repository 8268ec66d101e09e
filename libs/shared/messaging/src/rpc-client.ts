import type { RpcPattern, RpcRequest, RpcResponse } from '@cloudflow/contracts';

export interface CallOptions {
  /** Overrides the client's default timeout. */
  timeoutMs?: number;
  /** The caller's request id; it appears in every log line the call causes. */
  requestId?: string;
}

/**
 * The request/reply port. The distributed adapter goes over Kafka; an
 * in-process adapter can serve the same calls inside one process.
 * A call resolves with the validated response or rejects with an AppError
 * (ServiceUnavailable when nobody answers in time).
 */
export abstract class RpcClient {
  abstract call<P extends RpcPattern>(
    pattern: P,
    request: RpcRequest<P>,
    options?: CallOptions,
  ): Promise<RpcResponse<P>>;
}
