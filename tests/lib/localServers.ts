/**
 * Real PostgreSQL and Redis servers and processes on loopback for tests: the tools' own
 * (tools/lib/local/), re-exported, plus what a test process does on Ctrl-C or SIGTERM: kill every
 * process group still running, then exit.
 */
import { killGroupsOnSignals } from "../../tools/lib/local/processes";
import { postgresBin } from "../../tools/lib/local/postgres";

export {
  GroupProcess,
  freePort,
  randomPassword,
  run,
  tempDir,
  waitFor,
  type RunOptions,
  type RunResult,
  type WaitOptions,
} from "../../tools/lib/local/processes";
export { LocalPostgres, quoteIdent, quoteLiteral, type PostgresOptions } from "../../tools/lib/local/postgres";
export { LocalRedis, REDIS_CLI, REDIS_SERVER } from "../../tools/lib/local/redis";

/** Debian's server binaries of the newest installed PostgreSQL (15 on Debian 12, 17 on 13). */
export const PG_BIN = postgresBin();

killGroupsOnSignals();
