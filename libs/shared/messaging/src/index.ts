export * from './kafka-settings';
export * from './rpc-client';
export * from './kafka-rpc.client';
export * from './kafka-rpc.server';
export * from './rpc-call.context';
export * from './recent-ids';
export * from './messaging.module';
export * from './topic-publisher';
