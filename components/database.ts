import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { databaseUserOf, type PodIdentity } from "./identities";

/** How the app reaches the instance. */
export type DatabaseConnector = "auth-proxy" | "private-ip";

/** The flag that turns on Cloud SQL IAM database authentication (https://cloud.google.com/sql/docs/postgres/create-edit-iam-instances). */
export const IAM_AUTHENTICATION_FLAG = { name: "cloudsql.iam_authentication", value: "on" } as const;

/** The Cloud SQL user type of a service account that logs in with IAM database authentication. */
export const IAM_SERVICE_ACCOUNT_USER = "CLOUD_IAM_SERVICE_ACCOUNT";

/** What the workload needs to connect: typed, with the password a Pulumi secret. */
export interface DatabaseConnection {
    /** Host the app connects to: 127.0.0.1 (Auth Proxy sidecar) or the instance's private IP. */
    readonly host: pulumi.Output<string>;
    /** Port the app connects to. */
    readonly port: number;
    /** Database name. */
    readonly name: pulumi.Output<string>;
    /**
     * The schema owner role (`database.user`): owns the app's tables. With IAM authentication no
     * pod logs in as it: the migrate identity acts as it (`SET ROLE`), being a member of it.
     */
    readonly schemaOwner: pulumi.Output<string>;
    /**
     * `iam`: each pod logs in as its own IAM database user, the Auth Proxy sending its token
     * (`--auto-iam-authn`); `password`: every pod logs in as the schema owner with its password
     * (`database.connector: private-ip`).
     */
    readonly authentication: "iam" | "password";
    /** The password of the schema owner (secret); given to the pods with `password` authentication only. */
    readonly password: pulumi.Output<string>;
    /** `project:region:instance`, for the Auth Proxy. */
    readonly instanceConnectionName: pulumi.Output<string>;
    /** libpq `sslmode` the app must use with this connector. */
    readonly sslmode: "disable" | "require";
    /** The connector in use. */
    readonly connector: DatabaseConnector;
}

/** Arguments of {@link Database}. */
export interface DatabaseArgs {
    /** GCP project id. */
    readonly project: string;
    /** Region of the instance. */
    readonly region: string;
    /** VPC id for the private IP. */
    readonly networkId: pulumi.Input<string>;
    /** The private services connection (when created here); the instance waits for it. */
    readonly privateServicesDependencies: pulumi.Resource[];
    /** Machine tier. @default "db-custom-1-3840" */
    readonly tier?: string;
    /** PostgreSQL major version. @default "POSTGRES_18" */
    readonly version?: string;
    /** Cloud SQL edition; ENTERPRISE allows the db-custom tiers. @default "ENTERPRISE" */
    readonly edition?: "ENTERPRISE" | "ENTERPRISE_PLUS";
    /** Regional (HA) instance. @default false */
    readonly highAvailability?: boolean;
    /** Initial disk size in GB. @default 10 */
    readonly diskSizeGb?: number;
    /** Automated daily backups. @default true */
    readonly backupsEnabled?: boolean;
    /** Point-in-time recovery (needs backups). @default true */
    readonly pointInTimeRecovery?: boolean;
    /** Backups to keep. @default 7 */
    readonly retainedBackups?: number;
    /** Backup window start, UTC `HH:MM`. @default "02:00" */
    readonly backupStartTime?: string;
    /** Maintenance window day (1 = Monday) and hour (UTC). @default { day: 7, hour: 3 } */
    readonly maintenanceWindow?: { readonly day: number; readonly hour: number };
    /** Deletion protection on the instance (both flags) and Pulumi `protect` on the instance, the database and the user. @default true */
    readonly deletionProtection?: boolean;
    /** How the app connects. @default "auth-proxy" */
    readonly connector?: DatabaseConnector;
    /** Sets the `max_connections` flag; unset keeps Cloud SQL's default for the tier. */
    readonly maxConnections?: number;
    /** Database name. @default "django" */
    readonly databaseName?: string;
    /** Database user: the schema owner role (see {@link DatabaseConnection.schemaOwner}). @default "django" */
    readonly userName?: string;
    /**
     * The pod identities (components/identities.ts) that log in as their own IAM database users
     * (`iamDatabaseUser`): one `CLOUD_IAM_SERVICE_ACCOUNT` user each; the `schema` identity is made a
     * member of the schema owner role. Non-empty turns IAM database authentication on. @default []
     */
    readonly iamUsers?: readonly PodIdentity[];
}

/**
 * The login of a pod identity: its own IAM database user with IAM authentication, the schema owner
 * with a password. Identities without database access (collectstatic) get theirs too: a user that
 * does not exist, so a stray connection fails instead of borrowing another identity's rights.
 */
export function loginOf(connection: Pick<DatabaseConnection, "authentication" | "schemaOwner">, identity: Pick<PodIdentity, "email">): pulumi.Input<string> {
    return connection.authentication === "iam" ? databaseUserOf(identity.email) : connection.schemaOwner;
}

/**
 * Database flags of the CIS GCP Foundations benchmark (section 6.2, Cloud SQL for PostgreSQL) and of
 * the matching Checkov checks, which the policy pack enforces (policy/cloudSql.ts). Where the two
 * disagree, the choice and its reason are next to the flag. log_statement, log_hostname and
 * log_duration take effect without a server restart (PostgreSQL contexts superuser / sighup). The
 * `log_*_stats` flags are left at PostgreSQL's default, off (Checkov CKV2_GCP_14–17).
 */
export const CIS_DATABASE_FLAGS: ReadonlyArray<{ readonly name: string; readonly value: string }> = [
    { name: "log_checkpoints", value: "on" }, // CKV_GCP_51
    { name: "log_connections", value: "on" }, // CIS 6.2.2, CKV_GCP_52
    { name: "log_disconnections", value: "on" }, // CIS 6.2.3, CKV_GCP_53
    { name: "log_lock_waits", value: "on" }, // CKV_GCP_54
    { name: "log_min_messages", value: "error" }, // CIS ("warning" or stricter), CKV_GCP_55
    { name: "log_min_error_statement", value: "error" }, // CIS ("error" or stricter), CKV_GCP_109
    { name: "log_min_duration_statement", value: "-1" }, // CIS 6.2.7: statement texts may hold secrets; CKV_GCP_57
    { name: "log_temp_files", value: "0" }, // CKV_GCP_56
    { name: "cloudsql.enable_pgaudit", value: "on" }, // CIS 6.2.8, CKV_GCP_110
    // CIS: "ddl" (schema changes: migrations); Checkov CKV_GCP_111 also accepts "mod"/"all", which
    // would log every INSERT/UPDATE with its values (password hashes, sessions, personal data).
    { name: "log_statement", value: "ddl" },
    // Checkov CKV_GCP_108 wants "on". Off: each connection would wait for a reverse DNS lookup of
    // the client ("might impose a non-negligible performance penalty", PostgreSQL docs,
    // runtime-config-logging, log_hostname), whose name — a pod, the Auth Proxy — says nothing that
    // the address log_connections already logs does not. PostgreSQL's default, set explicitly.
    { name: "log_hostname", value: "off" },
    // Checkov CKV2_GCP_13 wants "on": "the duration of every completed statement" (PostgreSQL docs,
    // log_duration), a log line per query without its text (log_statement is ddl), so log volume
    // and cost grow with traffic. Query Insights records per-query latency instead. Off,
    // PostgreSQL's default, set explicitly.
    { name: "log_duration", value: "off" },
];

/** The instance property holding the disk size, which auto-resize owns after creation. */
export const DISK_SIZE_PROPERTY = "settings.diskSize";

/** The `sslMode` Cloud SQL enforces for each connector (CIS 6.4: encrypted connections only). */
export function sslModeFor(connector: DatabaseConnector): "TRUSTED_CLIENT_CERTIFICATE_REQUIRED" | "ENCRYPTED_ONLY" {
    return connector === "auth-proxy" ? "TRUSTED_CLIENT_CERTIFICATE_REQUIRED" : "ENCRYPTED_ONLY";
}

/**
 * Cloud SQL for PostgreSQL with a private IP only, encrypted connections, backups + PITR, the CIS
 * logging flags and Query Insights; plus the app's database and user, whose generated password
 * stays a Pulumi secret end to end.
 */
export class Database extends pulumi.ComponentResource {
    /** The instance. */
    public readonly instance: gcp.sql.DatabaseInstance;
    /** Connection settings for the workload. */
    public readonly connection: DatabaseConnection;
    /** The IAM database users (one per identity that logs in as itself); pods wait for theirs. */
    public readonly iamUsers: gcp.sql.User[] = [];

    constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-platform:database:Database", name, {}, opts);
        const connector = args.connector ?? "auth-proxy";
        const deletionProtection = args.deletionProtection ?? true;
        const backupsEnabled = args.backupsEnabled ?? true;
        const window = args.maintenanceWindow ?? { day: 7, hour: 3 };
        const iamUsers = args.iamUsers ?? [];
        const flags = [...CIS_DATABASE_FLAGS, ...(iamUsers.length > 0 ? [IAM_AUTHENTICATION_FLAG] : [])];
        if (args.maxConnections !== undefined) {
            flags.push({ name: "max_connections", value: String(args.maxConnections) });
        }

        this.instance = new gcp.sql.DatabaseInstance(`${name}-instance`, {
            project: args.project,
            region: args.region,
            databaseVersion: args.version ?? "POSTGRES_18",
            deletionProtection,
            settings: {
                tier: args.tier ?? "db-custom-1-3840",
                edition: args.edition ?? "ENTERPRISE",
                availabilityType: args.highAvailability ? "REGIONAL" : "ZONAL",
                diskType: "PD_SSD",
                diskSize: args.diskSizeGb ?? 10,
                diskAutoresize: true,
                deletionProtectionEnabled: deletionProtection,
                ipConfiguration: {
                    ipv4Enabled: false,
                    privateNetwork: args.networkId,
                    sslMode: sslModeFor(connector),
                    enablePrivatePathForGoogleCloudServices: false,
                },
                backupConfiguration: {
                    enabled: backupsEnabled,
                    pointInTimeRecoveryEnabled: backupsEnabled && (args.pointInTimeRecovery ?? true),
                    startTime: args.backupStartTime ?? "02:00",
                    backupRetentionSettings: { retainedBackups: args.retainedBackups ?? 7, retentionUnit: "COUNT" },
                    transactionLogRetentionDays: 7,
                },
                maintenanceWindow: { day: window.day, hour: window.hour, updateTrack: "stable" },
                insightsConfig: {
                    queryInsightsEnabled: true,
                    queryStringLength: 1024,
                    recordApplicationTags: true,
                    recordClientAddress: false,
                },
                databaseFlags: flags,
                userLabels: { "managed-by": "pulumi", app: "django-platform" },
            },
        }, {
            parent: this,
            dependsOn: args.privateServicesDependencies,
            protect: deletionProtection,
            // diskSize is the initial size: with diskAutoresize Cloud SQL grows the disk, a refresh
            // records the new size, and a later update would ask to shrink it back, which Cloud SQL
            // refuses. The provider says so: "this value will override the resizing from
            // diskAutoresize if that feature is enabled. To avoid this, set lifecycle.ignore_changes
            // on this field" (@pulumi/gcp sql DatabaseInstanceSettings.diskSize).
            ignoreChanges: [DISK_SIZE_PROPERTY],
        });

        const database = new gcp.sql.Database(`${name}-db`, {
            project: args.project,
            instance: this.instance.name,
            name: args.databaseName ?? "django",
        }, { parent: this, protect: deletionProtection });

        const password = new random.RandomPassword(`${name}-password`, {
            length: 32,
            special: false,
        }, { parent: this });

        const user = new gcp.sql.User(`${name}-user`, {
            project: args.project,
            instance: this.instance.name,
            name: args.userName ?? "django",
            password: password.result,
            deletionPolicy: "ABANDON",
        }, {
            parent: this,
            // The user's name is ForceNew: a new login would own none of the tables the old one
            // created (the old one is abandoned, not dropped). Protected like the database, so the
            // preview refuses a database.user change (docs/transitions.md).
            protect: deletionProtection,
        });

        // IAM database users: named after the service account, logging in with its token. They are
        // created with no privileges (https://cloud.google.com/sql/docs/postgres/iam-logins: "the
        // new database user is granted no privileges on any databases"); the migrate identity joins
        // the schema owner role here (Cloud SQL assigns `databaseRoles`,
        // https://cloud.google.com/sql/docs/postgres/add-manage-iam-users), and grants the others
        // their data privileges itself, as the schema owner (components/databaseRoles.ts).
        // ABANDON: PostgreSQL refuses to drop a role that still holds privileges; a removed worker's
        // user stays in the database, unable to log in once its account has no instanceUser grant.
        for (const identity of iamUsers) {
            this.iamUsers.push(new gcp.sql.User(`${name}-iam-${identity.role}`, {
                project: args.project,
                instance: this.instance.name,
                name: databaseUserOf(identity.email),
                type: IAM_SERVICE_ACCOUNT_USER,
                databaseRoles: identity.database === "schema" ? [user.name] : undefined,
                deletionPolicy: "ABANDON",
            }, { parent: this, dependsOn: [user, database] }));
        }

        this.connection = {
            connector,
            host: connector === "auth-proxy" ? pulumi.output("127.0.0.1") : this.instance.privateIpAddress,
            port: 5432,
            name: database.name,
            schemaOwner: user.name,
            authentication: iamUsers.length > 0 ? "iam" : "password",
            password: pulumi.secret(password.result),
            instanceConnectionName: this.instance.connectionName,
            // Behind the proxy the app speaks plain TCP to 127.0.0.1 and the proxy does mutual TLS.
            sslmode: connector === "auth-proxy" ? "disable" : "require",
        };

        this.registerOutputs({
            instanceName: this.instance.name,
            instanceConnectionName: this.connection.instanceConnectionName,
            privateIp: this.instance.privateIpAddress,
        });
    }
}
