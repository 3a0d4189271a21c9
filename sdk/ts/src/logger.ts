/**
 * The logging surface the SDK needs. Field-object first so a pino (or
 * bunyan) logger can be passed as is.
 */
export interface Logger {
  debug(fields: object, msg: string): void;
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}

const noop = () => {};

export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

/** Warnings and errors to the console: a worker that cannot reach Baton should not be silent by default. */
export const consoleLogger: Logger = {
  debug: noop,
  info: noop,
  warn: (fields, msg) => console.warn(`[baton] ${msg}`, fields),
  error: (fields, msg) => console.error(`[baton] ${msg}`, fields),
};
