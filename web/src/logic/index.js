export * from './format.js';
export * from './status.js';
export * from './swarm.js';
export * from './graph.js';
export * from './board.js';
export * from './transcript.js';
export * from './events.js';
