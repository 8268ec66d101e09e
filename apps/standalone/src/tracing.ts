// Loaded first by main.ts: instrumentation must patch modules before they load.
import { startTracing } from '@cloudflow/observability';

export const tracing = startTracing('standalone');
