// Keep this entry free of anything tracing instruments (pino, http, mongodb):
// services import it before those modules load.
export * from './tracing';
export * from './trace-headers';
export * from './request-context';
