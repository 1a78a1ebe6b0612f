/**
 * The library entry point (`import ... from 'postback-dispatcher'`): build a runtime on
 * Redis, enqueue events with its producer, run workers and the API in your own process.
 *
 *   const config = loadConfig(process.env);
 *   const runtime = await Runtime.create(config, createLogger(config.logLevel));
 *   await runtime.registry.upsert([{ id: 'pub7-main', url: 'https://p.example/pb?c={click_id}' }]);
 *   const [result] = await runtime.producer.produce([{ type: 'conversion', endpoint_id: 'pub7-main', click_id: '1' }]);
 *   const worker = startWorker(runtime);
 */
export { loadConfig, VARIABLES, type Config } from './config/schema.js';
export { createLogger, type Logger } from './logging/logger.js';
export { Runtime } from './runtime/runtime.js';
export type { RedisClient } from './redis/connection.js';
export type { RedisTopology } from './redis/topology.js';
export { serve, type Served } from './process/serve.js';
export { startWorker, type WorkerService } from './worker/worker-service.js';
export { buildApi } from './api/server.js';
export type { Producer, ProduceResult, ReplayResult, ReplaySource } from './queue/producer.js';
export { validateEvent, validateEvents } from './events/validate-event.js';
export type { PostbackEvent, FieldValue } from './events/event.js';
export { compileEndpoint, type CompiledEndpoint, type EndpointDefaults } from './endpoints/compile-endpoint.js';
export type { EndpointDefinition, EndpointInput } from './endpoints/schema.js';
export type { RenderedRequest } from './endpoints/rendered-request.js';
export { PRESETS, type Preset } from './endpoints/presets/index.js';
export { compileTemplate, CompiledTemplate } from './templates/compile.js';
export { iteratePostbacks, waitFinal, type HistoryStore } from './history/history-store.js';
export type { PostbackFilter, PostbackSummary, PostbackPage } from './history/query-postbacks.js';
export type { PostbackRecord, AttemptRecord, PostbackStatus } from './history/postback-record.js';
export { PostbackError, ValidationError, NotFoundError, UnavailableError, isPostbackError } from './errors/base-error.js';
