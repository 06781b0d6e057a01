/**
 * Small pure helpers shared by the Kubernetes components: standard labels and the restricted
 * Pod Security settings, written once so every pod gets the same secure defaults.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

type Container = k8s.types.input.core.v1.Container;

/** Recommended labels (`app.kubernetes.io/*`) for one part of the platform. */
export function labelsFor(component: string, instance: string): Record<string, string> {
    return {
        "app.kubernetes.io/name": "django",
        "app.kubernetes.io/instance": instance,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/managed-by": "pulumi",
    };
}

/** The subset of {@link labelsFor} that selects pods (stable across label additions). */
export function selectorFor(component: string, instance: string): Record<string, string> {
    return {
        "app.kubernetes.io/name": "django",
        "app.kubernetes.io/instance": instance,
        "app.kubernetes.io/component": component,
    };
}

/** Pod-level security context of the `restricted` Pod Security Standard. */
export function restrictedPodSecurity(uid: number): k8s.types.input.core.v1.PodSecurityContext {
    return {
        runAsNonRoot: true,
        runAsUser: uid,
        runAsGroup: uid,
        fsGroup: uid,
        seccompProfile: { type: "RuntimeDefault" },
    };
}

/** Container-level security context: restricted profile plus a read-only root filesystem. */
export function restrictedContainerSecurity(uid: number): k8s.types.input.core.v1.SecurityContext {
    return {
        allowPrivilegeEscalation: false,
        privileged: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        runAsUser: uid,
        runAsGroup: uid,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
    };
}

/**
 * Ephemeral storage (requested and limited) of a container whose root filesystem is read-only and
 * whose scratch space is memory-backed: only its logs use node disk, and the kubelet rotates those
 * at 5 files of 10 MiB (`containerLogMaxFiles`, `containerLogMaxSize` defaults), so 128 MiB leaves
 * room for the rotation. Set explicitly because Autopilot bills the request and, without one,
 * applies its own default; a limit makes a runaway writer evict its own pod, not fill the node.
 */
export const LOGS_EPHEMERAL_STORAGE = "128Mi";

/** The Cloud SQL Auth Proxy v2 image, pinned. */
export const CLOUD_SQL_PROXY_IMAGE = "gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.3";

/** The proxy's flag for automatic IAM database authentication. */
export const AUTO_IAM_AUTHN = "--auto-iam-authn";

/** uid of the proxy image's nonroot user (distroless). */
const PROXY_UID = 65532;

/**
 * The Cloud SQL Auth Proxy v2 as a native sidecar: an init container with `restartPolicy: Always`
 * starts before the app, keeps running beside it, and (in Jobs) stops when the app exits.
 * It connects over the private IP with the pod's Workload Identity. With `autoIamAuthn` it also logs
 * the app in as the pod's IAM database user: the app sends only the user name, the proxy "submits
 * the access token information for the password attribute"
 * (https://cloud.google.com/sql/docs/postgres/iam-authentication, automatic IAM database
 * authentication; the proxy's `--auto-iam-authn`, GoogleCloudPlatform/cloud-sql-proxy cmd/root.go).
 */
export function cloudSqlProxySidecar(instanceConnectionName: pulumi.Input<string>, options: { readonly autoIamAuthn: boolean }): Container {
    return {
        name: "cloud-sql-proxy",
        image: CLOUD_SQL_PROXY_IMAGE,
        restartPolicy: "Always",
        args: [
            "--private-ip", ...(options.autoIamAuthn ? [AUTO_IAM_AUTHN] : []), "--structured-logs", "--port=5432", "--health-check", "--http-address=0.0.0.0", "--http-port=9090",
            "--exit-zero-on-sigterm", instanceConnectionName,
        ],
        ports: [{ name: "proxy-health", containerPort: 9090 }],
        startupProbe: { httpGet: { path: "/startup", port: "proxy-health" }, periodSeconds: 1, failureThreshold: 60 },
        livenessProbe: { httpGet: { path: "/liveness", port: "proxy-health" }, periodSeconds: 10, failureThreshold: 3 },
        resources: {
            requests: { cpu: "100m", memory: "128Mi", "ephemeral-storage": LOGS_EPHEMERAL_STORAGE },
            limits: { memory: "128Mi", "ephemeral-storage": LOGS_EPHEMERAL_STORAGE },
        },
        securityContext: restrictedContainerSecurity(PROXY_UID),
    };
}
