import type { MessageHandler } from '@nestjs/microservices';
import { lastValueFrom, type Observable } from 'rxjs';
import {
  AppError,
  ErrorCode,
  RpcContracts,
  RpcReplySchema,
  isRpcPattern,
  type RpcPattern,
  type RpcReply,
  type RpcResponse,
} from '@cloudflow/contracts';
import {
  extractTraceContext,
  runWithRequestId,
  withSpan,
  type MessageHeaders,
} from '@cloudflow/observability';
import type { KafkaLogSink } from './kafka-settings';
import { RpcCallContext } from './rpc-call.context';

/**
 * The two ends of one RPC exchange, shared by every transport: the server
 * checks the request against its contract and turns the handler's outcome
 * into a reply; the client checks the reply against the contract.
 */

/** The patterns a server's handlers serve; refuses handlers no contract names. */
export function servedPatterns(handlers: Map<string, MessageHandler>): RpcPattern[] {
  const patterns: RpcPattern[] = [];
  for (const [pattern, handler] of handlers) {
    if (handler.isEventHandler)
      throw new Error(`@EventPattern('${pattern}'): events are not served yet`);
    if (!isRpcPattern(pattern))
      throw new Error(`@MessagePattern('${pattern}') names no RPC contract`);
    patterns.push(pattern);
  }
  return patterns;
}

export interface AnswerOptions {
  pattern: string;
  handler: MessageHandler | null;
  /** The request as it travelled: JSON text. */
  value: string | null;
  ctx: RpcCallContext;
  log: KafkaLogSink;
  /** The Nest server's own conversion of a handler's result. */
  toObservable: (result: unknown) => Observable<unknown>;
}

export interface ServeOptions extends Omit<AnswerOptions, 'ctx'> {
  requestId: string | undefined;
  correlationId: string;
  /** The request's headers, with the caller's trace context. */
  headers: MessageHeaders;
}

/**
 * Serves one request as every transport does: in a server span continuing
 * the caller's trace, under the caller's request id (so calls the handler
 * makes carry it on), answered by answerRequest.
 */
export function serveRequest(options: ServeOptions): Promise<RpcReply> {
  const { pattern, requestId, correlationId } = options;
  return withSpan(
    `rpc ${pattern}`,
    'server',
    { 'rpc.method': pattern },
    () => {
      const ctx = new RpcCallContext([pattern, requestId, correlationId]);
      const answer = () => answerRequest({ ...options, ctx });
      return requestId ? runWithRequestId(requestId, answer) : answer();
    },
    extractTraceContext(options.headers),
  );
}

/** Runs a handler for a request and answers the reply to send back; never throws. */
export async function answerRequest(options: AnswerOptions): Promise<RpcReply> {
  const { pattern, handler, ctx, log } = options;
  if (!handler || !isRpcPattern(pattern)) {
    log.error('rpc request for a pattern this service does not handle', { pattern });
    return errorReply(new AppError(ErrorCode.Internal));
  }
  let payload: unknown;
  try {
    payload = RpcContracts[pattern].request.parse(JSON.parse(options.value ?? 'null'));
  } catch {
    log.error('rpc request does not match its contract', { pattern, requestId: ctx.requestId });
    return errorReply(new AppError(ErrorCode.BadRequest, 'The request could not be understood'));
  }
  try {
    const result = await lastValueFrom(options.toObservable(await handler(payload, ctx)), {
      defaultValue: null,
    });
    return { ok: true, data: result };
  } catch (error) {
    if (error instanceof AppError) return errorReply(error);
    log.error('rpc handler failed', {
      pattern,
      requestId: ctx.requestId,
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
    return errorReply(new AppError(ErrorCode.Internal));
  }
}

function errorReply(error: AppError): RpcReply {
  return { ok: false, error: error.toWire() };
}

/**
 * The client's side: a reply (JSON text) becomes the validated response, or
 * the AppError the server answered, or 500 when it breaks its contract.
 */
export function acceptReply<P extends RpcPattern>(
  pattern: P,
  value: string | null,
  log: KafkaLogSink,
): RpcResponse<P> {
  let reply: RpcReply;
  try {
    reply = RpcReplySchema.parse(JSON.parse(value ?? 'null'));
  } catch {
    log.error('malformed rpc reply', { pattern });
    throw new AppError(ErrorCode.Internal);
  }
  if (!reply.ok) throw AppError.fromWire(reply.error);
  const parsed = RpcContracts[pattern].response.safeParse(reply.data);
  if (!parsed.success) {
    log.error('rpc reply does not match its contract', { pattern, issues: parsed.error.issues });
    throw new AppError(ErrorCode.Internal);
  }
  return parsed.data as RpcResponse<P>;
}

/** What a caller is told when no one answers in time. */
export function noAnswer(pattern: RpcPattern, timeoutMs: number): AppError {
  const service = RpcContracts[pattern].topic.replace('cloudflow.rpc.', '');
  return AppError.unavailable(
    `The ${service} service did not answer within ${timeoutMs} ms; try again shortly`,
  );
}
