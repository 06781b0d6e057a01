/**
 * Cloud SQL for PostgreSQL: a supported major version, private IP only, TLS, backups, HA and
 * deletion protection in production, the CIS logging flags and Query Insights.
 */
import * as gcp from "@pulumi/gcp";
import type { ReportViolation, ResourceValidationArgs } from "@pulumi/policy";
import type { Unwrap } from "@pulumi/pulumi";
import {
    configOf, DEFAULT_PRODUCTION_STACKS, isProductionUrn, PackPolicy, PolicyMeta, productionStacksSchema, requireValue, stringList, typedPolicy,
} from "./lib/define";
import { isUnknown, isUnset, knownItems, knownString, read, show, Unknown, UNKNOWN } from "./lib/values";

type Instance = Unwrap<gcp.sql.DatabaseInstanceArgs>;

/** A policy on `gcp.sql.DatabaseInstance`. */
function instancePolicy(
    meta: PolicyMeta,
    validate: (instance: Instance, args: ResourceValidationArgs, report: ReportViolation) => void,
): PackPolicy {
    return typedPolicy(meta, gcp.sql.DatabaseInstance, validate);
}

export const sqlInstanceDisablesPublicIp = instancePolicy({
    name: "sql-instance-disables-public-ip",
    description: "Cloud SQL must have no public IPv4 address and must be reachable on a private network (CIS GCP 6.6).",
    severity: "critical",
    enforcementLevel: "mandatory",
    covers: ["CKV_GCP_60"],
    remediationSteps: "Set settings.ipConfiguration.ipv4Enabled: false and privateNetwork to the VPC (after the private services access connection).",
}, (instance, _args, report) => {
    const ip = read(() => instance.settings?.ipConfiguration);
    if (isUnknown(ip)) {
        return;
    }
    const ipv4 = read(() => ip?.ipv4Enabled);
    if (!isUnknown(ipv4) && ipv4 !== false) {
        report(`settings.ipConfiguration.ipv4Enabled is ${show(ipv4)} (the default is true); set it to false.`);
    }
    const network = read(() => ip?.privateNetwork);
    if (isUnset(network) || network === "") {
        report("settings.ipConfiguration.privateNetwork is unset; attach the instance to the VPC.");
    }
});

export const sqlInstanceForbidsOpenAuthorizedNetworks = instancePolicy({
    name: "sql-instance-forbids-open-authorized-networks",
    description: "Cloud SQL authorized networks must not include the whole internet (a CIDR ending in /0).",
    severity: "critical",
    enforcementLevel: "mandatory",
    covers: ["CKV_GCP_11"],
    remediationSteps: "Remove the authorized network; connect through the private IP or the Cloud SQL Auth Proxy.",
}, (instance, _args, report) => {
    const networks = knownItems(read(() => instance.settings?.ipConfiguration?.authorizedNetworks));
    for (const network of networks) {
        const cidr = knownString(read(() => network.value));
        if (cidr !== undefined && cidr.trim().endsWith("/0")) {
            const name = knownString(read(() => network.name));
            report(`authorized network ${cidr}${name === undefined ? "" : ` (${JSON.stringify(name)})`} opens the instance to the internet; remove it.`);
        }
    }
});

const DEFAULT_SSL_MODES = ["ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"];

export const sqlInstanceRequiresSsl = instancePolicy({
    name: "sql-instance-requires-ssl",
    description: "Cloud SQL must refuse unencrypted connections (settings.ipConfiguration.sslMode, CIS GCP 6.4): ENCRYPTED_ONLY for the direct private-IP connector, which has no client certificate, or TRUSTED_CLIENT_CERTIFICATE_REQUIRED.",
    severity: "high",
    enforcementLevel: "mandatory",
    covers: ["CKV_GCP_6"],
    remediationSteps: "Set sslMode ENCRYPTED_ONLY (direct private IP, sslmode=require) or TRUSTED_CLIENT_CERTIFICATE_REQUIRED (Auth Proxy).",
    configSchema: {
        properties: { allowedSslModes: stringList(DEFAULT_SSL_MODES, "Accepted values of settings.ipConfiguration.sslMode.") },
    },
}, (instance, args, report) => {
    const { allowedSslModes } = configOf(args, { allowedSslModes: DEFAULT_SSL_MODES });
    const mode = read(() => instance.settings?.ipConfiguration?.sslMode);
    if (!isUnknown(mode) && (mode === undefined || !allowedSslModes.includes(mode))) {
        report(`settings.ipConfiguration.sslMode is ${show(mode)}; use one of ${allowedSslModes.join(", ")}.`);
    }
});

export const sqlInstanceEnablesBackups = instancePolicy({
    name: "sql-instance-enables-backups",
    description: "Cloud SQL must take automated backups.",
    severity: "high",
    enforcementLevel: "mandatory",
    covers: ["CKV_GCP_14"],
    remediationSteps: "Set settings.backupConfiguration.enabled: true (with a startTime outside peak hours).",
}, (instance, _args, report) => {
    requireValue(report, "settings.backupConfiguration.enabled", read(() => instance.settings?.backupConfiguration?.enabled), true);
});

export const sqlInstanceEnablesPointInTimeRecovery = instancePolicy({
    name: "sql-instance-enables-point-in-time-recovery",
    description: "Cloud SQL should keep transaction logs for point-in-time recovery.",
    severity: "medium",
    enforcementLevel: "advisory",
    remediationSteps: "Set settings.backupConfiguration.pointInTimeRecoveryEnabled: true.",
}, (instance, _args, report) => {
    requireValue(report, "settings.backupConfiguration.pointInTimeRecoveryEnabled", read(() => instance.settings?.backupConfiguration?.pointInTimeRecoveryEnabled), true);
});

export const sqlInstanceIsHighlyAvailableInProduction = instancePolicy({
    name: "sql-instance-is-highly-available-in-production",
    description: "In production stacks Cloud SQL must be regional (a standby in a second zone).",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Set settings.availabilityType: REGIONAL, e.g. `pulumi config set --path database.highAvailability true -s production`.",
    configSchema: { properties: { productionStacks: productionStacksSchema } },
}, (instance, args, report) => {
    const { productionStacks } = configOf(args, { productionStacks: DEFAULT_PRODUCTION_STACKS });
    if (!isProductionUrn(args.urn, productionStacks)) {
        return;
    }
    const availability = read(() => instance.settings?.availabilityType);
    if (!isUnknown(availability) && availability !== "REGIONAL") {
        report(`settings.availabilityType is ${show(availability)}; production needs REGIONAL.`);
    }
});

export const sqlInstanceEnablesDeletionProtectionInProduction = instancePolicy({
    name: "sql-instance-enables-deletion-protection-in-production",
    description: "In production stacks Cloud SQL must be protected three ways: deletionProtection, settings.deletionProtectionEnabled and Pulumi `protect`.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Set deletionProtection: true, settings.deletionProtectionEnabled: true and the `protect: true` resource option in production.",
    configSchema: { properties: { productionStacks: productionStacksSchema } },
}, (instance, args, report) => {
    const { productionStacks } = configOf(args, { productionStacks: DEFAULT_PRODUCTION_STACKS });
    if (!isProductionUrn(args.urn, productionStacks)) {
        return;
    }
    if (read(() => instance.deletionProtection) === false) {
        report("deletionProtection is false; set it to true in production.");
    }
    const enabled = read(() => instance.settings?.deletionProtectionEnabled);
    if (!isUnknown(enabled) && enabled !== true) {
        report(`settings.deletionProtectionEnabled is ${show(enabled)}; set it to true in production.`);
    }
    if (args.opts.protect !== true) {
        report("the resource option protect is not set; add `protect: true` in production.");
    }
});

/** The PostgreSQL major version of a `databaseVersion` (`POSTGRES_14` → 14, `POSTGRES_9_6` → 9). */
export function postgresMajor(databaseVersion: string): number | undefined {
    const match = /^POSTGRES_(\d+)(?:_\d+)?$/.exec(databaseVersion);
    return match === null ? undefined : Number(match[1]);
}

/**
 * PostgreSQL's default for each flag the pack checks: the effective value when the flag is not in
 * `settings.databaseFlags`. Most are the same in every supported major; `log_checkpoints` became
 * `on` in PostgreSQL 15 ("This changes the default of log_checkpoints to on",
 * https://www.postgresql.org/docs/release/15.0/; "The default is off" in
 * https://www.postgresql.org/docs/14/runtime-config-logging.html#GUC-LOG-CHECKPOINTS).
 */
const POSTGRES_DEFAULTS: Readonly<Record<string, string | ((major: number) => string)>> = {
    "log_connections": "off",
    "log_disconnections": "off",
    "log_checkpoints": (major) => (major >= 15 ? "on" : "off"),
    "log_lock_waits": "off",
    "log_min_messages": "warning",
    "log_min_error_statement": "error",
    "log_min_duration_statement": "-1",
    "log_temp_files": "-1",
    "cloudsql.enable_pgaudit": "off",
    "log_statement": "none",
    "log_parser_stats": "off",
    "log_planner_stats": "off",
    "log_executor_stats": "off",
    "log_statement_stats": "off",
};

/** A flag's effective value (lower-cased) and whether it is PostgreSQL's default for the major. */
interface FlagValue {
    readonly value: string;
    /** Set when the flag is not in databaseFlags: the major version whose default applies. */
    readonly defaultOf?: number;
}

/**
 * The effective value of a database flag, or UNKNOWN when the flags (or, for a flag whose default
 * depends on it, the major version) are not known. `undefined` for an instance of another engine,
 * whose flags these rules do not describe.
 */
function flagValue(instance: Instance, name: string): FlagValue | undefined | Unknown {
    const version = read(() => instance.databaseVersion);
    const major = typeof version === "string" && !isUnknown(version) ? postgresMajor(version) : undefined;
    if (typeof version === "string" && !isUnknown(version) && major === undefined) {
        return undefined;
    }
    const flags = read(() => instance.settings?.databaseFlags);
    if (isUnknown(flags)) {
        return UNKNOWN;
    }
    let unknownEntry = false;
    for (const flag of knownItems(flags)) {
        const flagName = read(() => flag.name);
        if (flagName === name) {
            const value = read(() => flag.value);
            return isUnknown(value) ? UNKNOWN : { value: String(value).toLowerCase() };
        }
        unknownEntry ||= isUnknown(flagName);
    }
    unknownEntry ||= knownItems(flags).length !== (flags?.length ?? 0);
    const fallback = POSTGRES_DEFAULTS[name] ?? "";
    if (unknownEntry || (typeof fallback === "function" && major === undefined)) {
        return UNKNOWN;
    }
    return typeof fallback === "function" ? { value: fallback(major!), defaultOf: major } : { value: fallback, defaultOf: major };
}

/** A policy requiring each listed flag to have one of the accepted values (PostgreSQL instances only). */
function flagPolicy(meta: PolicyMeta, expected: Readonly<Record<string, readonly string[]>>): PackPolicy {
    return instancePolicy(meta, (instance, _args, report) => {
        for (const [flag, accepted] of Object.entries(expected)) {
            const effective = flagValue(instance, flag);
            if (effective === undefined || isUnknown(effective) || accepted.includes(effective.value)) {
                continue;
            }
            const unset = effective.defaultOf !== undefined ? ` (unset, it takes PostgreSQL ${effective.defaultOf}'s default)` : "";
            report(`database flag ${flag} is ${JSON.stringify(effective.value)}; set it to ${accepted.map((a) => JSON.stringify(a)).join(" or ")}${unset}.`);
        }
    });
}

const FLAG_REMEDIATION = "Add the flag to settings.databaseFlags, e.g. { name: \"log_connections\", value: \"on\" }.";

export const sqlInstanceLogsConnections = flagPolicy({
    name: "sql-instance-logs-connections",
    description: "Cloud SQL must log connections and disconnections (log_connections, log_disconnections on; CIS GCP 6.2.2/6.2.3).",
    severity: "medium",
    enforcementLevel: "advisory",
    covers: ["CKV_GCP_52", "CKV_GCP_53"],
    remediationSteps: FLAG_REMEDIATION,
}, { "log_connections": ["on"], "log_disconnections": ["on"] });

export const sqlInstanceLogsCheckpointsAndLockWaits = flagPolicy({
    name: "sql-instance-logs-checkpoints-and-lock-waits",
    description: "Cloud SQL must log checkpoints and lock waits (log_checkpoints, log_lock_waits on).",
    severity: "low",
    enforcementLevel: "advisory",
    covers: ["CKV_GCP_51", "CKV_GCP_54"],
    remediationSteps: FLAG_REMEDIATION,
}, { "log_checkpoints": ["on"], "log_lock_waits": ["on"] });

export const sqlInstanceSetsLogSeverityFlags = flagPolicy({
    name: "sql-instance-sets-log-severity-flags",
    description: "Cloud SQL must log at warning or stricter and log failing statements (log_min_messages, log_min_error_statement; CIS GCP 6.2.4/6.2.5).",
    severity: "low",
    enforcementLevel: "advisory",
    covers: ["CKV_GCP_55", "CKV_GCP_109"],
    remediationSteps: "Leave log_min_messages at warning (or error) and log_min_error_statement at error.",
}, { "log_min_messages": ["warning", "error"], "log_min_error_statement": ["error"] });

export const sqlInstanceDisablesStatementDurationLogging = flagPolicy({
    name: "sql-instance-disables-statement-duration-logging",
    description: "Cloud SQL must not log statements by duration (log_min_duration_statement -1): they may contain secrets (CIS GCP 6.2.7).",
    severity: "medium",
    enforcementLevel: "advisory",
    covers: ["CKV_GCP_57"],
    remediationSteps: "Remove log_min_duration_statement from settings.databaseFlags or set it to \"-1\"; use Query Insights instead.",
}, { "log_min_duration_statement": ["-1"] });

export const sqlInstanceLogsTempFiles = flagPolicy({
    name: "sql-instance-logs-temp-files",
    description: "Cloud SQL must log all temporary files (log_temp_files 0).",
    severity: "low",
    enforcementLevel: "advisory",
    covers: ["CKV_GCP_56"],
    remediationSteps: "Add { name: \"log_temp_files\", value: \"0\" } to settings.databaseFlags.",
}, { "log_temp_files": ["0"] });

export const sqlInstanceEnablesPgaudit = flagPolicy({
    name: "sql-instance-enables-pgaudit",
    description: "Cloud SQL must enable pgAudit (cloudsql.enable_pgaudit on; CIS GCP 6.2.8).",
    severity: "low",
    enforcementLevel: "advisory",
    covers: ["CKV_GCP_110"],
    remediationSteps: "Add { name: \"cloudsql.enable_pgaudit\", value: \"on\" } to settings.databaseFlags.",
}, { "cloudsql.enable_pgaudit": ["on"] });

/**
 * Statement logging: `ddl` logs every CREATE/ALTER/DROP — schema changes, i.e. the migrations and
 * anything else that changes the database's structure — and no data. `mod` and `all` (which
 * Checkov CKV_GCP_111 also accepts) would log every INSERT/UPDATE with its literals: password
 * hashes, session data, personal data. CIS GCP Foundations recommends `ddl` ("log_statement set
 * appropriately").
 */
export const sqlInstanceLogsDdlStatements = flagPolicy({
    name: "sql-instance-logs-ddl-statements",
    description: "Cloud SQL must log schema changes (log_statement ddl), and not data-changing statements, whose literals would put personal data and secrets in the logs.",
    severity: "low",
    enforcementLevel: "advisory",
    covers: ["CKV_GCP_111"],
    remediationSteps: "Add { name: \"log_statement\", value: \"ddl\" } to settings.databaseFlags (components/database.ts CIS_DATABASE_FLAGS).",
}, { "log_statement": ["ddl"] });

/**
 * The `log_*_stats` flags write parser, planner and executor statistics for every statement: a
 * profiling aid whose volume and overhead scale with traffic (Checkov CKV2_GCP_14–17: "off").
 * PostgreSQL's default is off.
 */
export const sqlInstanceDisablesStatisticsLogging = flagPolicy({
    name: "sql-instance-disables-statistics-logging",
    description: "Cloud SQL must not log per-statement performance statistics (log_parser_stats, log_planner_stats, log_executor_stats, log_statement_stats off): a log line per statement, with overhead on each.",
    severity: "low",
    enforcementLevel: "advisory",
    covers: ["CKV2_GCP_14", "CKV2_GCP_15", "CKV2_GCP_16", "CKV2_GCP_17"],
    remediationSteps: "Remove the log_*_stats flags from settings.databaseFlags (the default is off), or set them to \"off\"; profile with Query Insights instead.",
}, { "log_parser_stats": ["off"], "log_planner_stats": ["off"], "log_executor_stats": ["off"], "log_statement_stats": ["off"] });

const DEFAULT_MINIMUM_POSTGRES = 16;

/**
 * The major version floor. Looser than Checkov CKV_GCP_79 on purpose, which accepts only the
 * newest major (POSTGRES_18 at its commit 03d5fdad8d61): the pack accepts every version from 16,
 * the ones the platform's config offers (`database.version`). The
 * PostgreSQL project supports a major version for five years
 * (https://www.postgresql.org/support/versioning/): 14 until November 2026, 15 until November 2027,
 * 16 until November 2028. A new instance on 16 or later has at least two years of fixes before a
 * major upgrade, which takes planning; an older one is out of fixes (14) or close to it.
 * Another engine (MySQL, SQL Server) is refused: the platform deploys PostgreSQL only, and the
 * pack's flag rules would say nothing true about it.
 */
export const sqlInstanceUsesSupportedMajorVersion = instancePolicy({
    name: "sql-instance-uses-supported-major-version",
    description: "Cloud SQL must run PostgreSQL, in a major version the platform supports (16 or later by default): older majors are at or near the end of PostgreSQL's security fixes, and the pack's Cloud SQL rules are written for PostgreSQL.",
    severity: "medium",
    enforcementLevel: "mandatory",
    covers: ["CKV_GCP_79"],
    remediationSteps: "Set databaseVersion to POSTGRES_16 or later (`pulumi config set --path database.version POSTGRES_18`); an existing instance needs a major version upgrade (test it on a clone first).",
    configSchema: {
        properties: {
            minimumMajorVersion: { type: "integer", minimum: 9, default: DEFAULT_MINIMUM_POSTGRES, description: "Lowest accepted PostgreSQL major version." },
        },
    },
}, (instance, args, report) => {
    const { minimumMajorVersion } = configOf(args, { minimumMajorVersion: DEFAULT_MINIMUM_POSTGRES });
    const version = knownString(read(() => instance.databaseVersion));
    if (version === undefined) {
        return;
    }
    const major = postgresMajor(version);
    if (major === undefined) {
        report(`databaseVersion is ${version}, not PostgreSQL: the platform runs PostgreSQL only, and the pack's Cloud SQL rules (flags, versions) are written for it; use POSTGRES_${minimumMajorVersion} or later.`);
    } else if (major < minimumMajorVersion) {
        report(`databaseVersion is ${version}; use POSTGRES_${minimumMajorVersion} or later.`);
    }
});

export const sqlInstanceEnablesQueryInsights = instancePolicy({
    name: "sql-instance-enables-query-insights",
    description: "Cloud SQL should have Query Insights on, to find slow queries without statement logging.",
    severity: "low",
    enforcementLevel: "advisory",
    remediationSteps: "Set settings.insightsConfig.queryInsightsEnabled: true.",
}, (instance, _args, report) => {
    requireValue(report, "settings.insightsConfig.queryInsightsEnabled", read(() => instance.settings?.insightsConfig?.queryInsightsEnabled), true);
});
