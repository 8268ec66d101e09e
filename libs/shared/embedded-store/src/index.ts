export { startEmbeddedStore } from './server';
export type { EmbeddedStoreOptions, EmbeddedStoreServer } from './server';
