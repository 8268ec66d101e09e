import { z } from 'zod';
import { Topics } from './topics';

/**
 * Domain events, named in the past tense. Consumers may lag or replay, so
 * every payload carries enough to be applied idempotently.
 */
export const EventContracts = {
  'pipeline.created': {
    topic: Topics.events.pipelines,
    payload: z.object({
      workspaceId: z.string(),
      pipelineId: z.string(),
      version: z.number().int(),
    }),
  },
  'pipeline.updated': {
    topic: Topics.events.pipelines,
    payload: z.object({
      workspaceId: z.string(),
      pipelineId: z.string(),
      version: z.number().int(),
    }),
  },
  'pipeline.deleted': {
    topic: Topics.events.pipelines,
    payload: z.object({
      workspaceId: z.string(),
      pipelineId: z.string(),
      version: z.number().int(),
    }),
  },
} as const;

export type EventType = keyof typeof EventContracts;
export type EventPayload<E extends EventType> = z.infer<(typeof EventContracts)[E]['payload']>;
