export * from './sfu.port';
