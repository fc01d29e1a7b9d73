import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** A process's CPU time (seconds) and page faults (minor and major) so far. */
interface ProcCounters {
  cpuSeconds: number;
  pageFaults: number;
}

/**
 * From /proc/<pid>/stat; with `children`, those of its children too once they
 * have exited (an ffmpeg decoder it reaped).
 */
function procCounters(pid: number, children: boolean): ProcCounters {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may itself hold spaces and ')'.
  const f = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  // Field N of the whole line is f[N - 3]: minflt 10, cminflt 11, majflt 12, cmajflt 13,
  // utime 14, stime 15, cutime 16, cstime 17.
  return {
    cpuSeconds: (f[11] + f[12] + (children ? f[13] + f[14] : 0)) / TICKS_PER_SECOND,
    pageFaults: f[7] + f[9] + (children ? f[8] + f[10] : 0),
  };
}

/**
 * CPU µs per page fault: the first write to each 4 KiB page of 64 MiB of new
 * memory. On a VM it depends on the host (11-19 µs here on 2026-12-06), and a
 * server that writes each frame into new memory pays it for every page.
 */
export function pageFaultMicros(): number {
  const bytes = 64 * 1024 * 1024;
  const before = process.cpuUsage();
  const fresh = Buffer.allocUnsafeSlow(bytes);
  for (let i = 0; i < bytes; i += 4096) fresh[i] = 1;
  const { user, system } = process.cpuUsage(before);
  return (user + system) / (bytes / 4096);
}

/** Memory of `pid` from /proc/<pid>/status, in MB (10^6 bytes): resident now, and its peak. */
export function memory(pid: number): { rssMB: number; hwmMB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  // The kernel's "kB" are KiB.
  const mb = (name: string) =>
    (Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) * 1024) / 1e6;
  return { rssMB: mb('VmRSS'), hwmMB: mb('VmHWM') };
}

/**
 * CPU use and page faults of some processes over a window: used(), percent()
 * and faults() give each process's since the window opened.
 */
export class CpuWindow {
  private readonly start: ProcCounters[];
  private readonly started = performance.now();

  /** `children`: count the processes' children that exited within the window too. */
  constructor(
    private readonly pids: readonly number[],
    private readonly children = false,
  ) {
    this.start = this.now();
  }

  private now(): ProcCounters[] {
    return this.pids.map((pid) => procCounters(pid, this.children));
  }

  /** CPU seconds each process used since the window opened. */
  used(): number[] {
    return this.now().map((c, i) => c.cpuSeconds - this.start[i].cpuSeconds);
  }

  /** % of one core each process used since the window opened (200% = both cores of 2). */
  percent(): number[] {
    const seconds = (performance.now() - this.started) / 1000;
    return this.used().map((used) => (used / seconds) * 100);
  }

  /** Page faults of each process since the window opened: first touches of new memory. */
  faults(): number[] {
    return this.now().map((c, i) => c.pageFaults - this.start[i].pageFaults);
  }
}

/** Samples the resident memory of some processes every `everyMs`, keeping each one's first and highest. */
export class RssSampler {
  readonly first: number[];
  readonly max: number[];
  readonly last: number[];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pids: readonly number[],
    everyMs = 250,
  ) {
    this.first = pids.map((pid) => memory(pid).rssMB);
    this.max = [...this.first];
    this.last = [...this.first];
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  sample(): void {
    this.pids.forEach((pid, i) => {
      const { rssMB } = memory(pid);
      this.last[i] = rssMB;
      this.max[i] = Math.max(this.max[i], rssMB);
    });
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }
}
