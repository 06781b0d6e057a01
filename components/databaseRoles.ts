/**
 * Who may do what in the app's database, with IAM database authentication (components/identities.ts
 * `DatabaseAccess`), and the step of the migrate Job that keeps it so.
 *
 * - The schema owner role (`database.user`, default `django`) owns every table, sequence and index
 *   of the app. No pod logs in as it: the migrate identity is a member of it (Cloud SQL assigns it
 *   through the user's `databaseRoles`, components/database.ts) and acts as it for the whole session
 *   (`DJANGO_APP_DB_ROLE`, Django's `assume_role` option: `SET ROLE` on connect), so whatever a
 *   migration creates belongs to the owner, whichever account ran it. A stack that ran with the
 *   password user keeps its tables: they already belong to that role, nothing changes hands.
 * - The data identities (web, CronJobs, `npm run manage`, workers) log in as themselves and get
 *   SELECT, INSERT, UPDATE and DELETE on the tables and USAGE, SELECT on the sequences: no CREATE on
 *   the schema (PostgreSQL 15 and later grant PUBLIC none on `public`), and no ALTER or DROP, which
 *   only the owner and its members may run.
 * - Tables created later reach them through ALTER DEFAULT PRIVILEGES, set by the owner for the
 *   objects it creates: a later migration's table is usable by the web pods without another step.
 *
 * The owner grants: IAM database users are created with no privileges and are not superusers
 * (https://cloud.google.com/sql/docs/postgres/iam-logins), and only an object's owner (or a member
 * of it) may grant on it, so the grants run in the migrate Job, as the owner, before `migrate`:
 * {@link SCHEMA_STEP}. It is idempotent (a GRANT that holds already changes nothing), takes the
 * data identities' users as arguments (a new worker is granted at the next release), and runs on
 * the one connection `migrate` uses after it (the connection budget's migrate Job connection).
 */
import type { PodIdentity } from "./identities";
import { databaseUserOf } from "./identities";

/** The schema the app's tables live in (Django's default search path). */
export const APP_SCHEMA = "public";

/** What the data identities may do on every table of the schema. */
export const DATA_TABLE_PRIVILEGES = ["SELECT", "INSERT", "UPDATE", "DELETE"] as const;

/** What the data identities may do on every sequence of the schema (serial and identity columns). */
export const DATA_SEQUENCE_PRIVILEGES = ["USAGE", "SELECT"] as const;

/** The statements of the schema step, `{grantees}` standing for the quoted users. */
export const GRANT_STATEMENTS: readonly string[] = [
    `GRANT USAGE ON SCHEMA ${APP_SCHEMA} TO {grantees}`,
    `GRANT ${DATA_TABLE_PRIVILEGES.join(", ")} ON ALL TABLES IN SCHEMA ${APP_SCHEMA} TO {grantees}`,
    `GRANT ${DATA_SEQUENCE_PRIVILEGES.join(", ")} ON ALL SEQUENCES IN SCHEMA ${APP_SCHEMA} TO {grantees}`,
    `ALTER DEFAULT PRIVILEGES IN SCHEMA ${APP_SCHEMA} GRANT ${DATA_TABLE_PRIVILEGES.join(", ")} ON TABLES TO {grantees}`,
    `ALTER DEFAULT PRIVILEGES IN SCHEMA ${APP_SCHEMA} GRANT ${DATA_SEQUENCE_PRIVILEGES.join(", ")} ON SEQUENCES TO {grantees}`,
];

/**
 * The migrate Job's program with IAM authentication (`python -c <this> <data users…>`): Django set
 * up from the container's settings, whose connection acts as the schema owner; the grants; then
 * `manage.py migrate --no-input` in the same process, on the same connection. Names are checked
 * (service account users only: lower-case letters, digits, `@._-`) before they are quoted.
 */
export const SCHEMA_STEP = [
    "# django-platform: the migrate Job's schema step (components/databaseRoles.ts).",
    "import re, sys",
    "import django",
    "django.setup()",
    "from django.core.management import call_command",
    "from django.db import connection",
    "users = sys.argv[1:]",
    "bad = [u for u in users if not re.fullmatch(r'[a-z0-9][a-z0-9.@_-]*', u)]",
    "if bad:",
    "    sys.exit('schema step: not a database user name: %r' % bad)",
    "if users:",
    "    grantees = ', '.join(connection.ops.quote_name(u) for u in users)",
    "    with connection.cursor() as cursor:",
    `        for statement in ${JSON.stringify(GRANT_STATEMENTS)}:`,
    "            cursor.execute(statement.format(grantees=grantees))",
    "    print('schema step: %s may read and write the tables of the schema, now and later' % ', '.join(users), flush=True)",
    "call_command('migrate', interactive=False)",
].join("\n");

/** The migrate command with a password: every pod is the owner, there is nothing to grant. */
export const PLAIN_MIGRATE = ["python", "manage.py", "migrate", "--no-input"] as const;

/** The database users of the identities that read and write the app's data (IAM authentication). */
export function dataUsers(pods: readonly PodIdentity[]): string[] {
    return pods.filter((p) => p.database === "data" && p.iamDatabaseUser).map((p) => databaseUserOf(p.email));
}

/** The migrate Job's command for `authentication`. */
export function migrateCommand(authentication: "iam" | "password", pods: readonly PodIdentity[]): string[] {
    return authentication === "iam" ? ["python", "-c", SCHEMA_STEP, ...dataUsers(pods)] : [...PLAIN_MIGRATE];
}
