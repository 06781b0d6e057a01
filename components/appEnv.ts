/**
 * THE environment contract between the platform and the Django app (docs/architecture.md).
 *
 * This module is the only place in the TypeScript code that spells the `DJANGO_APP_*` names;
 * the settings helper `django_platform_settings.apply()` (python/django-platform-settings), which
 * app/config/settings.py and any other project's settings call, is the only reader. Secrets go to a Kubernetes Secret, the rest to a
 * ConfigMap; `POD_IP` comes from the downward API.
 */
import * as pulumi from "@pulumi/pulumi";

/** Plain (ConfigMap) variables of the contract. */
export const PLAIN_VARIABLES = [
    "DJANGO_APP_DEBUG",
    "DJANGO_APP_ALLOWED_HOSTS",
    "DJANGO_APP_CSRF_TRUSTED_ORIGINS",
    "DJANGO_APP_DB_ENGINE",
    "DJANGO_APP_DB_NAME",
    "DJANGO_APP_DB_HOST",
    "DJANGO_APP_DB_PORT",
    "DJANGO_APP_DB_SSLMODE",
    "DJANGO_APP_DB_CONN_MAX_AGE",
    "DJANGO_APP_CACHE_BACKEND",
    "DJANGO_APP_CACHE_LOCATION",
    "DJANGO_APP_STATIC_URL",
    "DJANGO_APP_STATIC_BUCKET",
    "DJANGO_APP_LOG_LEVEL",
    /** `json`: the app logs one JSON object per line, which Cloud Logging parses into structured entries. */
    "DJANGO_APP_LOG_FORMAT",
    /** The GCP project id (for Cloud Trace ids in the JSON logs). */
    "DJANGO_APP_GCP_PROJECT",
    /** `true`/`false`: Django's admin is mounted (`app.admin.enabled`). */
    "DJANGO_APP_ADMIN_ENABLED",
    /** `true`/`false`: anonymous visitors may upload (`app.demo.anonymousUploads`). */
    "DJANGO_APP_DEMO_ANONYMOUS_UPLOADS",
    /** `true`/`false`: anonymous visitors may queue tasks (`app.demo.anonymousTasks`). */
    "DJANGO_APP_DEMO_ANONYMOUS_TASKS",
] as const;

/**
 * Plain variables rendered only when the platform has a value for them (absent otherwise, so a
 * stack without the feature keeps its ConfigMap unchanged). The app reads them unconditionally and
 * treats absent and empty alike.
 */
export const OPTIONAL_PLAIN_VARIABLES = [
    /** PEM bundle of the CA(s) of a TLS cache (Memorystore in-transit encryption); public, hence plain. */
    "DJANGO_APP_CACHE_CA_CERT",
    /** The admin's URL prefix (`app.admin.path`), only with the admin on. */
    "DJANGO_APP_ADMIN_PATH",
] as const;

/** Secret variables of the contract. */
export const SECRET_VARIABLES = ["DJANGO_APP_SECRET_KEY", "DJANGO_APP_CACHE_PASSWORD"] as const;

/**
 * Secret variables rendered only when the platform has a value for them. The database password
 * exists only with password authentication (`database.connector: private-ip`); behind the Auth
 * Proxy each pod logs in as its own IAM database user and the proxy sends the pod's token, so no
 * password reaches any pod.
 */
export const OPTIONAL_SECRET_VARIABLES = ["DJANGO_APP_DB_PASSWORD"] as const;

/**
 * Per-container variable: the database user the container logs in as. With IAM database
 * authentication each identity has its own (`<service account email without .gserviceaccount.com>`:
 * web, migrate, each worker; collectstatic's does not exist in the database), so it cannot be in
 * the shared ConfigMap. With a password, the schema owner everywhere.
 */
export const DATABASE_USER_VARIABLE = "DJANGO_APP_DB_USER";

/**
 * Per-container variable of the migrate Job only (IAM authentication): the role the session acts
 * as (`SET ROLE`, Django's `assume_role`), the schema owner, so every table a migration creates
 * belongs to it and not to the migrate identity's login. Absent elsewhere.
 */
export const DATABASE_ROLE_VARIABLE = "DJANGO_APP_DB_ROLE";

/** Per-container variables rendered only in some containers (the app treats absent and empty alike). */
export const OPTIONAL_CONTAINER_VARIABLES = [DATABASE_ROLE_VARIABLE] as const;

/** The pod's IP, from the downward API; the app adds it to ALLOWED_HOSTS for probes. */
export const POD_IP_VARIABLE = "POD_IP";

/**
 * Per-container (not ConfigMap) variables of the pods whose identity may use the private media
 * bucket: the bucket (django-storages' default storage) and the email of the pod's own Google
 * service account, which signs links to uploads through IAM signBlob. The web pods, the migrate Job,
 * the CronJobs and `npm run manage` Jobs run as the web account, each worker as its own; the
 * collectstatic Job's account has no access to the bucket. So the two are set together, in the
 * containers of those identities only, and never in the shared ConfigMap that every container
 * mounts: a container with the bucket but no signer would not start (the app refuses that env).
 * Absent when media is off.
 */
export const MEDIA_BUCKET_VARIABLE = "DJANGO_APP_MEDIA_BUCKET";
/** See {@link MEDIA_BUCKET_VARIABLE}. */
export const MEDIA_SIGNER_VARIABLE = "DJANGO_APP_MEDIA_SIGNER";

/** Per-container variable: Django's settings module (`workload.settingsModule`). */
export const SETTINGS_MODULE_VARIABLE = "DJANGO_SETTINGS_MODULE";

/** The value of `DJANGO_APP_LOG_FORMAT` the platform always sets. */
export const LOG_FORMAT = "json";

/** Every name the contract reserves; user extras must not collide with them. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set<string>([
    ...PLAIN_VARIABLES, ...OPTIONAL_PLAIN_VARIABLES, ...SECRET_VARIABLES, ...OPTIONAL_SECRET_VARIABLES, POD_IP_VARIABLE, MEDIA_BUCKET_VARIABLE, MEDIA_SIGNER_VARIABLE,
    SETTINGS_MODULE_VARIABLE, DATABASE_USER_VARIABLE, DATABASE_ROLE_VARIABLE,
]);

/** The django-redis backend the app uses when the platform provides Redis. */
export const REDIS_CACHE_BACKEND = "django_redis.cache.RedisCache";

/** Inputs of the contract: the typed outputs of the platform's children. */
export interface AppEnvInputs {
    /** Public host name. */
    readonly domain: string;
    readonly database: {
        readonly host: pulumi.Input<string>;
        readonly port: number;
        readonly name: pulumi.Input<string>;
        /** `password` puts the schema owner's password in the Secret; `iam` puts none there. */
        readonly authentication: "iam" | "password";
        readonly password: pulumi.Input<string>;
        readonly sslmode: string;
        readonly connMaxAge: number;
    };
    readonly cache: {
        /** Master first. */
        readonly locations: pulumi.Input<string[]>;
        readonly password: pulumi.Input<string>;
        /** CA bundle (PEM) the app must trust when the locations are `rediss://`; undefined without TLS. */
        readonly caCertificate?: pulumi.Input<string>;
    };
    readonly statics: {
        readonly url: pulumi.Input<string>;
        readonly bucketName: pulumi.Input<string>;
    };
    /** Django SECRET_KEY (secret). */
    readonly secretKey: pulumi.Input<string>;
    /** GCP project id. */
    readonly project: string;
    /** Django log level. */
    readonly logLevel: string;
    /** What the app exposes to anonymous visitors (`app.*`). */
    readonly exposure: {
        readonly admin: { readonly enabled: boolean; readonly path?: string };
        readonly anonymousUploads: boolean;
        readonly anonymousTasks: boolean;
    };
    /** User-defined plain extras (`appEnv`). */
    readonly extraPlain: Readonly<Record<string, string>>;
    /** User-defined secret extras (`appSecrets`). */
    readonly extraSecrets: Readonly<Record<string, pulumi.Input<string>>>;
}

/** The rendered contract: what goes in the ConfigMap and what goes in the Secret. */
export interface AppEnv {
    readonly plain: Record<string, pulumi.Input<string>>;
    readonly secret: Record<string, pulumi.Input<string>>;
}

/** Extras that would shadow a contract variable; returned as messages naming the config key. */
export function extrasCollisions(extraPlain: Readonly<Record<string, unknown>>, extraSecrets: Readonly<Record<string, unknown>>): string[] {
    const problems: string[] = [];
    for (const [key, names] of [["appEnv", Object.keys(extraPlain)], ["appSecrets", Object.keys(extraSecrets)]] as const) {
        for (const n of names) {
            if (RESERVED_NAMES.has(n)) {
                problems.push(`django-platform:${key}.${n}: ${n} is set by the platform and cannot be overridden. Fix: \`pulumi config rm --path ${key}.${n}\`.`);
            }
        }
    }
    for (const n of Object.keys(extraPlain)) {
        if (n in extraSecrets) {
            problems.push(`django-platform:appEnv.${n}: also set in appSecrets; keep one. Fix: \`pulumi config rm --path appEnv.${n}\`.`);
        }
    }
    return problems;
}

/**
 * Names of variables that hold secrets, case-insensitive: the policy pack's default
 * `secretNamePattern` (policy/lib/secrets.ts `DEFAULT_SECRET_NAME_PATTERN`, which
 * config-map-forbids-secret-values applies to the env ConfigMap). The program and the policy pack
 * are separate packages, so the pattern is written twice; tests/config.test.ts keeps them equal.
 */
export const SECRET_NAME_PATTERN = "(PASSWORD|PASSWD|SECRET|TOKEN|BEARER|PRIVATE_?KEY|API_?KEY|ACCESS_?KEY|CREDENTIALS?|(?<!PUBLIC)_KEY(_CONTENT)?$)";

/** Private key armour in a value (policy/lib/secrets.ts `looksLikeSecretValue`, kept equal by the same test). */
const PRIVATE_KEY_MARKERS: readonly RegExp[] = [
    /-+\s*BEGIN\s+(?:[A-Z0-9]+\s+)*PRIVATE\s+KEY(?:\s+BLOCK)?\s*-+/i,
    /(?:^|\n)\s*PuTTY-User-Key-File-\d+:/,
];

/**
 * Why an `appEnv` entry would be refused in the env ConfigMap by the policy pack: its name looks
 * like a secret's, or its value is a private key; undefined when it would not.
 */
export function secretLookingExtra(name: string, value: string): "name" | "value" | undefined {
    if (new RegExp(SECRET_NAME_PATTERN, "i").test(name)) {
        return "name";
    }
    return PRIVATE_KEY_MARKERS.some((marker) => marker.test(value)) ? "value" : undefined;
}

/** Builds the contract from the children's outputs. Pure apart from Output plumbing. */
export function buildAppEnv(i: AppEnvInputs): AppEnv {
    const plain: Record<(typeof PLAIN_VARIABLES)[number], pulumi.Input<string>> = {
        DJANGO_APP_DEBUG: "false",
        DJANGO_APP_ALLOWED_HOSTS: i.domain,
        DJANGO_APP_CSRF_TRUSTED_ORIGINS: `https://${i.domain}`,
        DJANGO_APP_DB_ENGINE: "postgresql",
        DJANGO_APP_DB_NAME: i.database.name,
        DJANGO_APP_DB_HOST: i.database.host,
        DJANGO_APP_DB_PORT: String(i.database.port),
        DJANGO_APP_DB_SSLMODE: i.database.sslmode,
        DJANGO_APP_DB_CONN_MAX_AGE: String(i.database.connMaxAge),
        DJANGO_APP_CACHE_BACKEND: REDIS_CACHE_BACKEND,
        DJANGO_APP_CACHE_LOCATION: pulumi.output(i.cache.locations).apply((l) => l.join(" ")),
        DJANGO_APP_STATIC_URL: i.statics.url,
        DJANGO_APP_STATIC_BUCKET: i.statics.bucketName,
        DJANGO_APP_LOG_LEVEL: i.logLevel,
        DJANGO_APP_LOG_FORMAT: LOG_FORMAT,
        DJANGO_APP_GCP_PROJECT: i.project,
        DJANGO_APP_ADMIN_ENABLED: String(i.exposure.admin.enabled),
        DJANGO_APP_DEMO_ANONYMOUS_UPLOADS: String(i.exposure.anonymousUploads),
        DJANGO_APP_DEMO_ANONYMOUS_TASKS: String(i.exposure.anonymousTasks),
    };
    const optional: Partial<Record<(typeof OPTIONAL_PLAIN_VARIABLES)[number], pulumi.Input<string>>> = {};
    if (i.cache.caCertificate !== undefined) {
        optional.DJANGO_APP_CACHE_CA_CERT = i.cache.caCertificate;
    }
    if (i.exposure.admin.enabled && i.exposure.admin.path !== undefined) {
        optional.DJANGO_APP_ADMIN_PATH = i.exposure.admin.path;
    }
    const secret: Record<(typeof SECRET_VARIABLES)[number], pulumi.Input<string>> = {
        DJANGO_APP_SECRET_KEY: i.secretKey,
        DJANGO_APP_CACHE_PASSWORD: i.cache.password,
    };
    const optionalSecret: Partial<Record<(typeof OPTIONAL_SECRET_VARIABLES)[number], pulumi.Input<string>>> = {};
    if (i.database.authentication === "password") {
        optionalSecret.DJANGO_APP_DB_PASSWORD = i.database.password;
    }
    return {
        plain: { ...i.extraPlain, ...plain, ...optional },
        secret: { ...i.extraSecrets, ...secret, ...optionalSecret },
    };
}
