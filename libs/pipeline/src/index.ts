export { applyAll, inRuns, projects, type Projection } from './projections/projection';
export {
  ProjectionProcessor,
  type ProjectionLog,
  type ProjectionMetrics,
  type ProjectionProcessorOptions,
  type ProjectionStatus,
} from './projections/projection-processor';
export type { RebuildOutcome } from './projections/blue-green-rebuild';
export { pipelineManifest } from './manifest';
export {
  CommandRunner,
  type Appended,
  type CommandMetrics,
  type CommandHandler,
  type CommandRunnerOptions,
  type LoadedState,
  type RunOptions,
  type StateLoader,
} from './commands/command-runner';
export {
  PipelineModule,
  COMMAND_RUNNER,
  PROJECTION_PROCESSOR,
  type PipelineModuleOptions,
} from './pipeline.module';
