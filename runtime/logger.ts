/**
 * pino, the same way in every process: JSON lines on stdout, `service` names the process, pretty output
 * when stdout is a terminal (or LOG_PRETTY=true). Child loggers carry `requestId` from api to worker.
 */
import { type Logger, pino } from 'pino';

export type { Logger } from 'pino';

export function createLogger(service: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  const pretty =
    process.env.LOG_PRETTY === undefined ? process.stdout.isTTY : process.env.LOG_PRETTY === 'true';
  return pino({
    level,
    base: { service, pid: process.pid },
    ...(pretty
      ? { transport: { target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname' } } }
      : {}),
  });
}
