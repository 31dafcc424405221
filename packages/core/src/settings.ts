/** The engine's resolved settings: what config.toml, env and flags boil down to. */
export interface EngineSettings {
  /** Connections for a new job unless the user or a `ddm bench` measurement says otherwise. */
  connections: number;
  maxConnectionsPerJob: number;
  maxConnectionsPerHost: number;
  maxConnectionsGlobal: number;
  parallelJobs: number;
  minSplitBytes: number;
  retryAttempts: number;
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  connectTimeoutMs: number;
  /** Deadline for a probe to get an answer, over all its tries (config `timeouts.probe_ms`). */
  probeTimeoutMs: number;
  /** A connection under this rate for `lowSpeedTimeMs` is stalled: aborted and retried. */
  lowSpeedBytesPerSec: number;
  lowSpeedTimeMs: number;
  /** Global speed limit; null = unlimited. */
  maxBytesPerSec: number | null;
  segmentBufferBytes: number;
  checkpointIntervalMs: number;
  overwrite: 'rename' | 'overwrite' | 'fail';
  fileAllocation: 'sparse' | 'full';
  userAgent: string;
  /** Explicit proxy (config key or --proxy); env proxies are resolved per URL. */
  proxy: string | null;
  /** Restart a connection slower than this fraction of the median of its siblings. */
  slowConnectionRatio: number;
  /** How long a connection must be that slow before it is restarted. */
  slowConnectionMs: number;
}

export const DEFAULT_SETTINGS: EngineSettings = {
  connections: 8,
  maxConnectionsPerJob: 16,
  maxConnectionsPerHost: 16,
  maxConnectionsGlobal: 64,
  parallelJobs: 3,
  minSplitBytes: 1 << 20,
  retryAttempts: 5,
  retryBaseDelayMs: 500,
  retryMaxDelayMs: 30_000,
  connectTimeoutMs: 15_000,
  probeTimeoutMs: 30_000,
  lowSpeedBytesPerSec: 1024,
  lowSpeedTimeMs: 20_000,
  maxBytesPerSec: null,
  segmentBufferBytes: 256 * 1024,
  checkpointIntervalMs: 1000,
  overwrite: 'rename',
  fileAllocation: 'sparse',
  userAgent: 'ddm/0.1',
  proxy: null,
  slowConnectionRatio: 0.3,
  slowConnectionMs: 1000,
};
