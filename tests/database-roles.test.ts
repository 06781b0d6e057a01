/**
 * Database roles with Cloud SQL IAM database authentication (components/databaseRoles.ts), on a
 * real PostgreSQL (cli/lib/local/postgres.ts), running the staging stack's rendered migrate and
 * web containers — their commands and environment as rendered, with the local stand-ins for what
 * only the cluster has: host and port (the Auth Proxy's 127.0.0.1:5432), and the login the proxy
 * makes with the pod's OAuth token (`--auto-iam-authn`), here a password in PGPASSWORD, which libpq
 * reads when the app passes none.
 *
 * The roles are made as Cloud SQL makes them: the schema owner (`database.user`, a built-in user
 * created through the Admin API; here it owns the database, which gives it CREATE on `public` as
 * membership of cloudsqlsuperuser does there), the IAM users with no privileges, the migrate one a
 * member of the owner (`databaseRoles`).
 *
 * - A new stack: the rendered migrate Job creates every table as the owner and grants the data
 *   identities DML; the web container reads and writes, cannot CREATE, ALTER or DROP, nor migrate.
 * - A table a later migration creates is usable by the web pods with no other step (default privileges).
 * - An existing stack, whose tables the password user created: the same migrate Job, as the new
 *   identity, grants on them; nothing changes owner (no REASSIGN OWNED needed), and the old
 *   password login keeps working until the last old pod is gone (no downtime).
 */
import assert from "node:assert/strict";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { DATABASE_ROLE_VARIABLE, DATABASE_USER_VARIABLE } from "../components/appEnv";
import { SCHEMA_STEP } from "../components/databaseRoles";
import { argv, djangoContainers, objectsOf, resolveEnv, type DjangoContainer, type K8sDoc } from "../cli/lib/renderedWorkloads";
import { baseEnv, copyProject, PYTHON } from "./lib/djangoApp";
import { LocalPostgres, quoteIdent, quoteLiteral, randomPassword, run, type RunResult } from "./lib/localServers";
import { renderStack } from "./helpers/platform";

let pg: LocalPostgres;
let docs: K8sDoc[];
let app: string;
let migrate: DjangoContainer;
let web: DjangoContainer;
const passwords = new Map<string, string>();

/** The rendered container's env with the local stand-ins; `database` names the local database. */
function envOf(c: DjangoContainer, database: string): Record<string, string> {
    const env = resolveEnv(c, { secret: () => randomPassword(), field: () => "127.0.0.1" });
    const user = env[DATABASE_USER_VARIABLE] as string;
    return { ...baseEnv(), ...env, HOME: "/nonexistent", DJANGO_APP_DB_HOST: pg.host, DJANGO_APP_DB_PORT: String(pg.port), DJANGO_APP_DB_NAME: database, PGPASSWORD: passwords.get(user) ?? "" };
}

/** Runs the container's rendered command (or `command`) with its env, in the project copy. */
function runAs(c: DjangoContainer, database: string, command: readonly string[] = argv(c.container)): Promise<RunResult> {
    const [program, ...args] = command;
    return run(program === "python" ? PYTHON : (program as string), args, { cwd: app, env: envOf(c, database), check: false });
}

/** Runs SQL through Django's connection as the container's identity; resolves with its result or error text. */
function sqlAs(c: DjangoContainer, database: string, sql: string): Promise<RunResult> {
    const script = `import django\ndjango.setup()\nfrom django.db import connection\nwith connection.cursor() as c:\n    c.execute(${JSON.stringify(sql)})\n    print(c.fetchall() if c.description else 'ok')`;
    return runAs(c, database, ["python", "-c", script]);
}

/** The last line a command printed (Django's shell prints its automatic imports first). */
const lastLine = (r: RunResult) => r.stdout.trim().split("\n").at(-1);

/** Makes a database as Cloud SQL would for a stack: owned by the schema owner (a built-in user). */
async function createDatabase(name: string): Promise<void> {
    await pg.sql(`CREATE DATABASE ${quoteIdent(name)} OWNER django;`);
}

before(async () => {
    docs = objectsOf((await renderStack("staging")).resources);
    const containers = djangoContainers(docs, { manageJob: false });
    migrate = containers.find((c) => c.workload.component === "migrate" && !c.init) as DjangoContainer;
    web = containers.find((c) => c.workload.component === "web" && !c.init) as DjangoContainer;
    app = copyProject();
    pg = await LocalPostgres.create();
    // The schema owner: a built-in user with a password (Cloud SQL requires one), which no pod gets.
    passwords.set("django", randomPassword());
    await pg.sql(`CREATE ROLE django LOGIN PASSWORD ${quoteLiteral(passwords.get("django") as string)};`);
    // IAM users: created with no privileges; the migrate one joins the owner (databaseRoles).
    for (const c of [migrate, web]) {
        const user = c.env.get(DATABASE_USER_VARIABLE)?.value as string;
        passwords.set(user, randomPassword());
        await pg.sql(`CREATE ROLE ${quoteIdent(user)} LOGIN PASSWORD ${quoteLiteral(passwords.get(user) as string)};`);
    }
    await pg.sql(`GRANT django TO ${quoteIdent(migrate.env.get(DATABASE_USER_VARIABLE)?.value as string)};`);
});

after(async () => {
    await pg?.destroy();
});

describe("the rendered env: each identity its own login, no password, the migrate Job acting as the owner", () => {
    test("web and migrate log in as their own IAM database users; only migrate sets the role; no password anywhere", () => {
        assert.equal(web.env.get(DATABASE_USER_VARIABLE)?.value, "dj-staging-web@acme-django-staging.iam");
        assert.equal(migrate.env.get(DATABASE_USER_VARIABLE)?.value, "dj-staging-migrate@acme-django-staging.iam");
        assert.equal(migrate.env.get(DATABASE_ROLE_VARIABLE)?.value, "django");
        assert.equal(web.env.has(DATABASE_ROLE_VARIABLE), false);
        for (const c of djangoContainers(docs)) {
            assert.equal(c.env.has("DJANGO_APP_DB_PASSWORD"), false, `${c.label} gets a database password`);
        }
        assert.deepEqual(argv(migrate.container), ["python", "-c", SCHEMA_STEP, "dj-staging-web@acme-django-staging.iam"]);
    });
});

describe("a new stack", () => {
    test("the migrate Job creates the schema as the owner and grants the web identity DML; web reads and writes", async () => {
        await createDatabase("fresh");
        const result = await runAs(migrate, "fresh");
        assert.equal(result.code, 0, result.stderr + result.stdout);
        assert.match(result.stdout, /schema step: dj-staging-web@acme-django-staging\.iam may read and write/);
        const owners = await pg.sql("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public';", "fresh");
        assert.equal(owners, "django", "every table belongs to the schema owner, none to the migrate login");
        const write = await sqlAs(web, "fresh", "INSERT INTO demo_visit (created_at, served_by) VALUES (now(), 'test') RETURNING id");
        assert.equal(write.code, 0, write.stderr);
        const orm = await runAs(web, "fresh", ["python", "manage.py", "shell", "-c", "from demo.models import Visit; Visit.objects.create(served_by='orm'); Visit.objects.filter(served_by='test').update(served_by='x'); print(Visit.objects.count())"]);
        assert.equal(orm.code, 0, orm.stderr);
        assert.equal(lastLine(orm), "2");
        assert.equal((await sqlAs(web, "fresh", "DELETE FROM demo_visit WHERE served_by = 'x'")).code, 0);
    });

    test("the web identity cannot create, alter or drop tables, nor run migrations", async () => {
        const create = await sqlAs(web, "fresh", "CREATE TABLE intruder (x int)");
        assert.notEqual(create.code, 0);
        assert.match(create.stderr, /permission denied for schema public/);
        const drop = await sqlAs(web, "fresh", "DROP TABLE demo_visit");
        assert.notEqual(drop.code, 0);
        assert.match(drop.stderr, /must be owner of table demo_visit/);
        const alter = await sqlAs(web, "fresh", "ALTER TABLE demo_visit ADD COLUMN extra int");
        assert.match(alter.stderr, /must be owner of table demo_visit/);
        const truncate = await sqlAs(web, "fresh", "TRUNCATE demo_visit");
        assert.match(truncate.stderr, /permission denied for table demo_visit/);
        const role = await sqlAs(web, "fresh", "SET ROLE django");
        assert.match(role.stderr, /permission denied to set role "django"/);
    });

    test("a table a later migration creates is usable by the web identity, with no other step", async () => {
        const migrations = join(app, "demo", "migrations");
        const last = readdirSync(migrations).filter((f) => /^\d{4}_.*\.py$/.test(f)).sort().at(-1)?.replace(/\.py$/, "");
        writeFileSync(
            join(migrations, "0999_platform_test_later.py"),
            [
                "from django.db import migrations, models",
                "class Migration(migrations.Migration):",
                `    dependencies = [("demo", ${JSON.stringify(last)})]`,
                "    operations = [migrations.CreateModel(name='Later', fields=[('id', models.BigAutoField(primary_key=True)), ('note', models.CharField(max_length=20))])]",
                "",
            ].join("\n"),
        );
        // The web identity cannot apply it.
        const refused = await runAs(web, "fresh", ["python", "manage.py", "migrate", "--no-input"]);
        assert.notEqual(refused.code, 0);
        assert.match(refused.stderr, /permission denied for schema public/);
        // The migrate identity applies it with plain `migrate` (no grant step): the owner creates it.
        const applied = await runAs(migrate, "fresh", ["python", "manage.py", "migrate", "--no-input"]);
        assert.equal(applied.code, 0, applied.stderr);
        assert.equal(await pg.sql("SELECT tableowner FROM pg_tables WHERE tablename = 'demo_later';", "fresh"), "django");
        const used = await sqlAs(web, "fresh", "INSERT INTO demo_later (note) VALUES ('later') RETURNING id");
        assert.equal(used.code, 0, used.stderr);
        assert.equal(lastLine(await sqlAs(web, "fresh", "SELECT note FROM demo_later")), "[('later',)]");
    });
});

describe("an existing stack moving from the password user", () => {
    test("the tables the password user created are granted to the web identity; none changes owner; the old login still works", async () => {
        await createDatabase("existing");
        // Before: every pod logged in as the schema owner with its password and migrated as it.
        const oldEnv = { ...envOf(web, "existing"), DJANGO_APP_DB_USER: "django", DJANGO_APP_DB_PASSWORD: passwords.get("django") as string };
        const old = await run(PYTHON, ["manage.py", "migrate", "--no-input"], { cwd: app, env: oldEnv, check: false });
        assert.equal(old.code, 0, old.stderr);
        await run(PYTHON, ["manage.py", "shell", "-c", "from demo.models import Visit; Visit.objects.create(served_by='old pod')"], { cwd: app, env: oldEnv });
        const before = await pg.sql("SELECT tablename || ':' || tableowner FROM pg_tables WHERE schemaname = 'public' ORDER BY 1;", "existing");
        // The web identity, before the new migrate Job ran: no access yet (the rollout waits for the Job).
        assert.match((await sqlAs(web, "existing", "SELECT count(*) FROM demo_visit")).stderr, /permission denied for table demo_visit/);
        // The release: the rendered migrate Job, as the migrate identity.
        const release = await runAs(migrate, "existing");
        assert.equal(release.code, 0, release.stderr);
        assert.equal(await pg.sql("SELECT tablename || ':' || tableowner FROM pg_tables WHERE schemaname = 'public' ORDER BY 1;", "existing"), before, "no table changed owner");
        assert.equal(lastLine(await sqlAs(web, "existing", "SELECT served_by FROM demo_visit")), "[('old pod',)]");
        assert.equal((await sqlAs(web, "existing", "INSERT INTO demo_visit (created_at, served_by) VALUES (now(), 'new pod') RETURNING id")).code, 0);
        // A pod of the old release, still draining, keeps its password login.
        const draining = await run(PYTHON, ["manage.py", "shell", "-c", "from demo.models import Visit; print(Visit.objects.count())"], { cwd: app, env: oldEnv, check: false });
        assert.equal(lastLine(draining), "2", draining.stderr);
    });
});
