export * from './model';
export * from './data-root';
export * from './sinks';
export * from './run-task';
export * from './formats/planner';
export * from './formats/read-range';
export * from './formats/writers';
export * from './transforms/compile-transforms';
