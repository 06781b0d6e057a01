import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { AlertThresholds, AlertValues, alertSpecs, dashboardJson } from "./alerts";
import { negBackendNamePattern } from "./ingressNames";
import { LIVENESS_PATH } from "./podTemplates";

/** Arguments of {@link Monitoring}. */
export interface MonitoringArgs {
    /** GCP project id. */
    readonly project: string;
    /** Stack name, for display names. */
    readonly stack: string;
    /** The site's host name: the uptime check requests `https://<domain>/healthz/`. */
    readonly domain: string;
    /** Addresses that get the alerts (one email notification channel each). @default [] */
    readonly notificationEmails?: readonly string[];
    /** Alert thresholds (config `monitoring.thresholds`). */
    readonly thresholds: AlertThresholds;
    /** Cloud SQL `project:region:instance`; the alerts use `project:instance`. */
    readonly instanceConnectionName: pulumi.Input<string>;
    /** max_connections minus the superuser reserve, for the connections alert. */
    readonly usableConnections: number;
    /** Where Redis runs. */
    readonly cacheMode: "in-cluster" | "memorystore";
    /** The app's namespace (HPA, Job and in-cluster Redis signals). */
    readonly namespace: pulumi.Input<string>;
    /**
     * The web Service behind the Ingress (its name and port, in {@link namespace}): the load
     * balancer alerts and charts cover only the backend service GKE creates for it.
     */
    readonly webService: { readonly name: pulumi.Input<string>; readonly port: number };
    /** The web HPA's name: the HPA alert and chart read it only. */
    readonly webHpaName: pulumi.Input<string>;
    /**
     * Whether the site already answers `https://<domain>/healthz/` (config `monitoring.siteLive`).
     * false (a first deploy, before DNS and the managed certificate are ready) disables the uptime
     * alert only; the check keeps running. @default true
     */
    readonly siteLive?: boolean;
    /** The CDN's backend bucket name, when the CDN is on (a chart of its own). @default none */
    readonly cdnBackendName?: pulumi.Input<string>;
}

/** The path the uptime check requests: the app's liveness endpoint (no database, no cache). */
export const UPTIME_PATH = LIVENESS_PATH;

/** `project:region:instance` → the `database_id` label of Cloud SQL metrics, `project:instance`. */
export function databaseIdOf(instanceConnectionName: string): string {
    const [project, , instance] = instanceConnectionName.split(":");
    return `${project}:${instance}`;
}

/**
 * Uptime, alerts and a dashboard for one stack: an HTTPS uptime check on `/healthz/` of the domain
 * (through the load balancer, certificate validated), one email notification channel per address,
 * an alert policy per signal ({@link alertSpecs}) and a dashboard of the same signals.
 */
export class Monitoring extends pulumi.ComponentResource {
    /** The uptime check's id (`uptimeCheckId`). */
    public readonly uptimeCheckId: pulumi.Output<string>;
    /** The alert policies, by key (`uptime`, `5xx`, …). */
    public readonly alertPolicies: Record<string, gcp.monitoring.AlertPolicy>;
    /** The notification channels' ids. */
    public readonly notificationChannels: pulumi.Output<string>[];

    constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-platform:monitoring:Monitoring", name, {}, opts);
        const child = { parent: this };
        const emails = args.notificationEmails ?? [];
        const siteLive = args.siteLive ?? true;
        if (!siteLive) {
            pulumi.log.warn(
                `The "site down" alert is disabled (monitoring.siteLive false) while ${args.domain} is set up. Once \`curl -fsS https://${args.domain}${UPTIME_PATH}\` answers, ` +
                    "turn it on: `pulumi config set --path monitoring.siteLive true`, then `pulumi up` (docs/monitoring.md).",
                this,
            );
        }

        // HTTPS through the load balancer, certificate validated: what a browser gets. The app
        // answers /healthz/ without touching the database and exempts it from the HTTPS redirect;
        // the Host header is the domain, which is in ALLOWED_HOSTS.
        // https://cloud.google.com/monitoring/uptime-checks
        const uptime = new gcp.monitoring.UptimeCheckConfig(`${name}-uptime`, {
            project: args.project,
            displayName: `${args.stack}: https://${args.domain}${UPTIME_PATH}`,
            period: "60s",
            timeout: "10s",
            httpCheck: {
                path: UPTIME_PATH,
                port: 443,
                useSsl: true,
                validateSsl: true,
                requestMethod: "GET",
                acceptedResponseStatusCodes: [{ statusClass: "STATUS_CLASS_2XX" }],
            },
            monitoredResource: { type: "uptime_url", labels: { project_id: args.project, host: args.domain } },
        }, child);
        this.uptimeCheckId = uptime.uptimeCheckId;

        this.notificationChannels = emails.map((email, i) => new gcp.monitoring.NotificationChannel(`${name}-email-${i}`, {
            project: args.project,
            type: "email",
            displayName: `${args.stack} alerts: ${email}`,
            labels: { email_address: email },
        }, child).id);

        const values: pulumi.Output<AlertValues> = pulumi.all([args.instanceConnectionName, args.namespace, args.webService.name, args.webHpaName, args.cdnBackendName]).apply(([connectionName, namespace, serviceName, webHpaName, cdnBackendName]) => ({
            thresholds: args.thresholds,
            host: args.domain,
            databaseId: databaseIdOf(connectionName),
            usableConnections: args.usableConnections,
            cacheMode: args.cacheMode,
            namespace,
            webBackendPattern: negBackendNamePattern(namespace, serviceName, args.webService.port),
            webHpaName,
            ...(cdnBackendName !== undefined ? { cdnBackendName } : {}),
        }));
        // The set of policies depends only on plain config, so it is known before the outputs are.
        const keys = alertSpecs({ thresholds: args.thresholds, host: args.domain, databaseId: "", usableConnections: args.usableConnections, cacheMode: args.cacheMode, namespace: "", webBackendPattern: "", webHpaName: "" });
        this.alertPolicies = {};
        for (const spec of keys) {
            const built = values.apply((v) => alertSpecs(v).find((s) => s.key === spec.key)!);
            this.alertPolicies[spec.key] = new gcp.monitoring.AlertPolicy(`${name}-alert-${spec.key}`, {
                project: args.project,
                displayName: `${args.stack}: ${spec.displayName}`,
                combiner: "OR",
                // The uptime check fails until DNS and the managed certificate are ready (first deploy).
                enabled: spec.key === "uptime" ? siteLive : true,
                conditions: built.apply((s) => s.conditions as unknown as gcp.types.input.monitoring.AlertPolicyCondition[]),
                ...(spec.alertStrategy ? { alertStrategy: spec.alertStrategy as unknown as gcp.types.input.monitoring.AlertPolicyAlertStrategy } : {}),
                documentation: { content: spec.documentation, mimeType: "text/markdown" },
                notificationChannels: this.notificationChannels,
                severity: spec.key === "uptime" || spec.key === "5xx" ? "CRITICAL" : "WARNING",
            }, child);
        }

        new gcp.monitoring.Dashboard(`${name}-dashboard`, {
            project: args.project,
            dashboardJson: values.apply((v) => dashboardJson(v, `${args.stack}: django-platform`)),
        }, child);

        this.registerOutputs({ uptimeCheckId: this.uptimeCheckId });
    }
}
