export * from './domain/call.decider';
