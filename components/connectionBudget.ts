/**
 * The PostgreSQL connection budget of ARCHITECTURE.md, as pure functions.
 *
 * Every gunicorn thread keeps its own persistent connection (Django `CONN_MAX_AGE` > 0), so at
 * full scale the web tier holds `maxReplicas × workers × threads` connections, plus one per
 * migrate/collectstatic Job that may run during a rollout.
 */

/**
 * Cloud SQL for PostgreSQL's default `max_connections` by instance memory.
 * Source: Cloud SQL docs, "Configure database flags" → PostgreSQL `max_connections` defaults
 * (https://cloud.google.com/sql/docs/postgres/flags#postgres-m), as [minimum memory GiB, connections].
 */
const MAX_CONNECTIONS_BY_MEMORY_GIB: ReadonlyArray<readonly [number, number]> = [
    [120, 1000],
    [60, 800],
    [30, 600],
    [15, 500],
    [7.5, 400],
    [6, 200],
    [3.75, 100],
];

/** Shared-core tiers have fixed values (same source). */
const SHARED_CORE: Readonly<Record<string, number>> = { "db-f1-micro": 25, "db-g1-small": 50 };

/** Connections PostgreSQL keeps for superusers (`superuser_reserved_connections`, default 3). */
export const RESERVED_CONNECTIONS = 3;

/** Connections the migrate and collectstatic Jobs may hold while a rollout runs. */
export const JOB_CONNECTIONS = 2;

/** The default `max_connections` of a Cloud SQL tier, or `undefined` if it cannot be derived. */
export function maxConnectionsForTier(tier: string): number | undefined {
    if (tier in SHARED_CORE) {
        return SHARED_CORE[tier];
    }
    const custom = /^db-custom-(\d+)-(\d+)$/.exec(tier);
    if (!custom) {
        return undefined;
    }
    const memoryGib = Number(custom[2]) / 1024;
    for (const [minGib, connections] of MAX_CONNECTIONS_BY_MEMORY_GIB) {
        if (memoryGib >= minGib) {
            return connections;
        }
    }
    return 25;
}

/** Sizing of the web tier that determines its connection needs. */
export interface WebSizing {
    readonly maxReplicas: number;
    readonly gunicornWorkers: number;
    readonly gunicornThreads: number;
}

/** How many connections the platform needs at full scale, and how many an instance can give. */
export function requiredConnections(sizing: WebSizing) {
    const web = sizing.maxReplicas * sizing.gunicornWorkers * sizing.gunicornThreads;
    return {
        web,
        jobs: JOB_CONNECTIONS,
        total: web + JOB_CONNECTIONS,
        reserved: RESERVED_CONNECTIONS,
        usable: (maxConnections: number) => maxConnections - RESERVED_CONNECTIONS,
    };
}
