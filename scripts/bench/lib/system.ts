/** The machine and the tools: what the report says about where it was measured. */
import { readFileSync, statfsSync } from 'node:fs';
import os from 'node:os';

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  ramBytes: number;
  kernel: string;
  diskFreeBytes: number;
  /** Where the temp dir lives (downloads and served files go there). */
  tempDir: string;
}

export function machineInfo(tempDir: string): MachineInfo {
  let diskFreeBytes = 0;
  try {
    const fs = statfsSync(tempDir);
    diskFreeBytes = fs.bavail * fs.bsize;
  } catch {
    // Unknown disk: the report says 0.
  }
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) cpuModel = line.split(':')[1]?.trim() ?? cpuModel;
  } catch {
    // Not Linux: keep os.cpus().
  }
  return {
    cpus: os.availableParallelism(),
    cpuModel,
    ramBytes: os.totalmem(),
    kernel: `${os.type()} ${os.release()}`,
    diskFreeBytes,
    tempDir,
  };
}

/** The first line a command prints (stdout, else stderr), or null when it cannot run. */
export function firstLine(cmd: string[]): string | null {
  try {
    const r = Bun.spawnSync(cmd, { stdout: 'pipe', stderr: 'pipe', stdin: 'ignore' });
    const text = `${r.stdout.toString()}\n${r.stderr.toString()}`.trim();
    return text.split('\n')[0]?.trim() ?? null;
  } catch {
    return null;
  }
}

/** Absolute path of an executable on PATH, or null. */
export function which(name: string): string | null {
  return Bun.which(name);
}
