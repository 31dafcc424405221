import {
  CONFIG_TABLE,
  type ConfigKeySpec,
  type DdmConfig,
  DEFAULT_CONFIG,
  type FileAllocation,
  getConfigValue,
  type OverwritePolicy,
} from './config-table.ts';

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
  overwrite: OverwritePolicy;
  fileAllocation: FileAllocation;
  userAgent: string;
  /** Explicit proxy (config key or --proxy); env proxies are resolved per URL. */
  proxy: string | null;
  /** Extra CA certificates: a PEM file (`tls.ca_file`, `--cacert`); null = none. */
  caFile: string | null;
  /** A directory of PEM files (`tls.ca_path`, `--capath`); null = none. */
  caPath: string | null;
  /** Accept any certificate (`tls.verify = "off"`, `-k`). */
  isTlsInsecure: boolean;
  /** Restart a connection slower than this fraction of the median of its siblings. */
  slowConnectionRatio: number;
  /** How long a connection must be that slow before it is restarted. */
  slowConnectionMs: number;
}

/** Settings no config key feeds: the engine's own tuning. */
const ENGINE_ONLY_SETTINGS = { slowConnectionRatio: 0.3, slowConnectionMs: 1000 } as const;

/**
 * The engine settings a configuration boils down to, derived from {@link CONFIG_TABLE}: each
 * key with a `setting` feeds that field (through its `toSetting` conversion); the rest of
 * `EngineSettings` is engine-only.
 */
export function settingsFromConfig(config: DdmConfig): EngineSettings {
  const settings: Record<string, unknown> = { ...ENGINE_ONLY_SETTINGS };
  for (const spec of CONFIG_TABLE as readonly ConfigKeySpec[]) {
    if (spec.setting === undefined) continue;
    const value = getConfigValue(config, spec.key);
    settings[spec.setting] = spec.toSetting ? spec.toSetting(value as never) : value;
  }
  return settings as unknown as EngineSettings;
}

/** The settings of the default configuration. */
export const DEFAULT_SETTINGS: EngineSettings = settingsFromConfig(DEFAULT_CONFIG);

/** A job's connection count within 1..`maxConnectionsPerJob` (the default for a non-number). */
export function clampConnections(n: number, settings: EngineSettings): number {
  if (!Number.isFinite(n)) return settings.connections;
  return Math.max(1, Math.min(Math.floor(n), settings.maxConnectionsPerJob));
}
