/** The process's kafkajs client. */
export const KAFKA = Symbol('KAFKA');
export const KAFKA_SETTINGS = Symbol('KAFKA_SETTINGS');
/** Resolves once CloudFlow's topics exist; whatever subscribes injects it first. */
export const TOPICS_READY = Symbol('TOPICS_READY');
