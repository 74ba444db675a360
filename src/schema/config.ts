/** The configuration file: see config/index.ts. Kept as the entry point that the rest of mlmon imports. */
export * from './config/index.js';
