// CPU time of a process's threads, from /proc (Linux): how a benchmark tells the training threads'
// work from everything else a worker process does.
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's times (USER_HZ, 100 on Linux). */
const ticksPerSecond = 100;

/** CPU seconds (user and system) of each thread of `pid`, by Linux thread id. */
export function threadCpuSeconds(pid: number): Map<number, number> {
  const seconds = new Map<number, number>();
  for (const entry of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${entry}/stat`, 'utf8');
      // Fields after the command name, which may hold spaces: state is the first, utime the 12th.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      seconds.set(Number(entry), (Number(fields[11]) + Number(fields[12])) / ticksPerSecond);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return seconds;
}

/** CPU seconds each thread used between two readings (threads that started in between count from 0). */
export function cpuBetween(before: Map<number, number>, after: Map<number, number>): Map<number, number> {
  return new Map([...after].map(([thread, seconds]) => [thread, seconds - (before.get(thread) ?? 0)]));
}
