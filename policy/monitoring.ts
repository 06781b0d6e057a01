/**
 * Monitoring: a production site has an uptime check and alert policies that notify someone
 * (components/monitoring.ts).
 */
import * as gcp from "@pulumi/gcp";
import { configOf, DEFAULT_PRODUCTION_STACKS, isProductionUrn, productionStacksSchema, stackPolicy, typedPolicy, typeTokenOf } from "./lib/define";
import { isUnknown, read } from "./lib/values";

const INGRESS = "kubernetes:networking.k8s.io/v1:Ingress";
const UPTIME = typeTokenOf(gcp.monitoring.UptimeCheckConfig);
const ALERT = typeTokenOf(gcp.monitoring.AlertPolicy);
const CHANNEL = typeTokenOf(gcp.monitoring.NotificationChannel);

/**
 * A production stack that publishes a site (a Kubernetes Ingress) must watch it: at least one
 * uptime check, one alert policy and one notification channel in the same stack.
 */
export const monitoringWatchesTheSiteInProduction = stackPolicy({
    name: "monitoring-watches-the-site-in-production",
    description: "A production stack that serves a site through an Ingress must also have an uptime check, alert policies and a notification channel.",
    severity: "medium",
    enforcementLevel: "mandatory",
    remediationSteps: "Keep `monitoring.enabled` true (the default) and set `monitoring.notificationEmails` (e.g. `pulumi config set --path 'monitoring.notificationEmails[0]' ops@example.com -s production`).",
    configSchema: { properties: { productionStacks: productionStacksSchema } },
}, [INGRESS, UPTIME, ALERT, CHANNEL], (args, report) => {
    const { productionStacks } = configOf(args, { productionStacks: DEFAULT_PRODUCTION_STACKS });
    const ingresses = args.resources.filter((r) => r.type === INGRESS && isProductionUrn(r.urn, productionStacks));
    if (ingresses.length === 0) {
        return;
    }
    const missing = [
        [UPTIME, "uptime check (gcp.monitoring.UptimeCheckConfig)"],
        [ALERT, "alert policy (gcp.monitoring.AlertPolicy)"],
        [CHANNEL, "notification channel (gcp.monitoring.NotificationChannel)"],
    ].filter(([type]) => !args.resources.some((r) => r.type === type)).map(([, what]) => what);
    if (missing.length > 0) {
        report(`${ingresses[0].name} serves production traffic but the stack has no ${missing.join(", ")}; nobody would learn that the site is down.`, ingresses[0].urn);
    }
});

/** An alert policy without a notification channel fires into the console only. */
export const monitoringAlertPolicyNotifiesAChannel = typedPolicy({
    name: "monitoring-alert-policy-notifies-a-channel",
    description: "Every alert policy must name at least one notification channel.",
    severity: "low",
    enforcementLevel: "advisory",
    remediationSteps: "Set `monitoring.notificationEmails`; components/monitoring.ts gives every alert policy one email channel per address.",
}, gcp.monitoring.AlertPolicy, (props, _args, report) => {
    const channels = read(() => props.notificationChannels);
    if (isUnknown(channels)) {
        return;
    }
    // An unknown channel id (preview) still names a channel: only a list with no entries at all is empty.
    if (!Array.isArray(channels) || channels.length === 0) {
        report("notificationChannels is empty; the alert would only show in the console. Set monitoring.notificationEmails.");
    }
});
