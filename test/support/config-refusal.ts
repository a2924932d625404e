import { ConfigError, readConfig } from '../../src/config.js';

/** The message start-up would stop with for `env` (its lines joined by `\n`), or undefined when `env` is taken. */
export function configRefusal(env: Record<string, string>): string | undefined {
  try {
    readConfig(env);
    return undefined;
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
}
