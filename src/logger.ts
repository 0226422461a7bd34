import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs; secrets are redacted wherever they might be attached to a log object. */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { app: 'baton' },
      redact: {
        paths: ['req.headers.authorization', 'req.headers["x-slack-signature"]', 'headers.authorization', 'token', 'password', 'secret'],
        censor: '[redacted]',
      },
    },
    destination ?? process.stdout,
  );
}
