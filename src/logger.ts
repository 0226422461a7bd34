/**
 * Logs for machines and for people. pino writes one JSON object per line; when the output is a
 * terminal (or LOG_FORMAT=pretty) each line is reformatted into one short, coloured line that a
 * person can read at a glance. Redaction happens in pino before either format sees the line, so a
 * secret never reaches the terminal either.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

export const logFormats = ['json', 'pretty'] as const;
export type LogFormat = (typeof logFormats)[number];

export interface LoggerOptions {
  /** json or pretty; default: pretty when the destination is a terminal, else json. */
  format?: LogFormat | undefined;
  /** Colours in the pretty format; default: when the destination is a terminal and NO_COLOR is unset. */
  colour?: boolean | undefined;
}

/** Structured logs; secrets are redacted wherever they might be attached to a log object. */
export function createLogger(level: string, destination?: NodeJS.WritableStream, opts: LoggerOptions = {}): Logger {
  const out = destination ?? process.stdout;
  const format = resolveLogFormat(out, opts.format);
  const colour = opts.colour ?? (isTerminal(out) && !process.env.NO_COLOR);
  return pino(
    {
      level,
      base: { app: 'baton' },
      redact: {
        paths: ['req.headers.authorization', 'req.headers["x-slack-signature"]', 'headers.authorization', 'token', 'password', 'secret'],
        censor: '[redacted]',
      },
    },
    format === 'pretty' ? prettyDestination(out, colour) : out,
  );
}

/** The format a logger on `out` uses: `format` when given, else pretty on a terminal and json elsewhere. */
export function resolveLogFormat(out: NodeJS.WritableStream, format?: LogFormat): LogFormat {
  return format ?? (isTerminal(out) ? 'pretty' : 'json');
}

function isTerminal(out: NodeJS.WritableStream): boolean {
  return (out as { isTTY?: boolean }).isTTY === true;
}

/** A pino destination that writes each JSON line as a pretty line to `out`. */
export function prettyDestination(out: NodeJS.WritableStream, colour: boolean): DestinationStream {
  return {
    write(line: string) {
      out.write(formatLogLine(line, colour));
    },
  };
}

const LEVELS: Record<number, { label: string; colour: string }> = {
  10: { label: 'TRACE', colour: '90' },
  20: { label: 'DEBUG', colour: '36' },
  30: { label: 'INFO ', colour: '32' },
  40: { label: 'WARN ', colour: '33' },
  50: { label: 'ERROR', colour: '31' },
  60: { label: 'FATAL', colour: '1;41;97' },
};

/** Fields every line carries, or that the pretty line shows in its own place. */
const SHOWN_ELSEWHERE = new Set(['level', 'time', 'msg', 'app', 'pid', 'hostname', 'component', 'err']);
const REQUEST_FIELDS = new Set(['method', 'path', 'status', 'ms', 'handoffId']);

/**
 * One JSON log line → one line for a person: `12:04:31.207 INFO  [sla] owner nudged handoffId=12`.
 * Request lines read like an access log: `GET /api/handoffs/12 200 3.1 ms handoff #12`. An error's
 * stack follows on indented lines. A line that is not JSON passes through unchanged.
 */
export function formatLogLine(line: string, colour: boolean): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : line + '\n';
  }
  if (typeof o !== 'object' || o === null) return line.endsWith('\n') ? line : line + '\n';
  const paint = (code: string, s: string) => (colour ? `\u001b[${code}m${s}\u001b[0m` : s);
  const level = LEVELS[Number(o.level)] ?? { label: String(o.level).toUpperCase().padEnd(5), colour: '0' };
  const time = typeof o.time === 'number' ? clockTime(new Date(o.time)) : '';
  const parts: string[] = [paint('2', time), paint(level.colour, level.label)];
  if (typeof o.component === 'string') parts.push(paint('35', `[${o.component}]`));

  const request = o.msg === 'request' && typeof o.method === 'string' && typeof o.status === 'number';
  const skip = request ? new Set([...SHOWN_ELSEWHERE, ...REQUEST_FIELDS]) : SHOWN_ELSEWHERE;
  if (request) {
    const status = o.status as number;
    const statusColour = status >= 500 ? '31' : status >= 400 ? '33' : '32';
    parts.push(`${o.method as string} ${String(o.path ?? '')}`, paint(statusColour, String(status)));
    if (typeof o.ms === 'number') parts.push(paint('2', `${o.ms} ms`));
    if (o.handoffId !== undefined) parts.push(paint('36', `handoff #${String(o.handoffId)}`));
  } else if (typeof o.msg === 'string') {
    parts.push(o.msg);
  }
  const err = o.err as { type?: string; message?: string; stack?: string } | undefined;
  if (err && typeof err === 'object' && err.message) parts.push(paint('31', `${err.type ?? 'Error'}: ${err.message}`));
  for (const [k, v] of Object.entries(o)) {
    if (skip.has(k) || v === undefined) continue;
    parts.push(`${paint('2', `${k}=`)}${formatValue(v)}`);
  }
  let text = parts.filter(Boolean).join(' ') + '\n';
  if (err && typeof err.stack === 'string') {
    // The first line of a stack repeats the message shown above.
    const frames = err.stack.split('\n').slice(1).map((f) => `    ${f.trim()}`);
    if (frames.length) text += paint('2', frames.join('\n')) + '\n';
  }
  return text;
}

function clockTime(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

function formatValue(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  return JSON.stringify(v);
}
