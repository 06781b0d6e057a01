import * as gcp from "@pulumi/gcp";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { labelsFor } from "./kube";
import { GOOGLE_LB_RANGES } from "./networkPolicies";
import { LOAD_BALANCER_BACKEND_TIMEOUT_SECONDS, PROBE_PORT, READINESS_PATH } from "./podTemplates";

/** Arguments of {@link Networking}. */
export interface NetworkingArgs {
    /** GCP project id. */
    readonly project: string;
    /** Stack name, for labels. */
    readonly stack: string;
    /** Public host name (managed certificate). */
    readonly domain: string;
    /** SSL policy profile (TLS 1.2+). @default "MODERN" */
    readonly sslPolicyProfile?: "MODERN" | "RESTRICTED";
    /** Kubernetes provider and namespace. */
    readonly provider: k8s.Provider;
    readonly namespace: pulumi.Input<string>;
    /** The web Service the Ingress sends traffic to. */
    readonly serviceName: pulumi.Input<string>;
    readonly servicePort: number;
    /** Name of the BackendConfig that {@link webServiceAnnotations} referenced. */
    readonly backendConfigName: string;
    /**
     * Name of the Cloud Armor backend security policy (components/edge.ts) the BackendConfig attaches
     * to the web backend service (`spec.securityPolicy.name`). Unset: the BackendConfig names the
     * empty policy `""`, which detaches whatever policy an earlier deploy attached. Leaving the field
     * out would not: GKE's Ingress controller treats a missing `securityPolicy` as "leave the backend
     * service alone" and only an empty name as "remove" (kubernetes/ingress-gce
     * pkg/backends/features/securitypolicy.go, `EnsureSecurityPolicy`).
     * @default undefined (detach)
     * @see https://cloud.google.com/kubernetes-engine/docs/how-to/ingress-configuration#cloud_armor
     */
    readonly securityPolicyName?: pulumi.Input<string>;
}

/** Annotations the web Service needs: container-native load balancing (NEG) and the BackendConfig. */
export function webServiceAnnotations(backendConfigName: string): Record<string, string> {
    return {
        "cloud.google.com/neg": JSON.stringify({ ingress: true }),
        "cloud.google.com/backend-config": JSON.stringify({ default: backendConfigName }),
    };
}

/**
 * How the world reaches Django: a global static IP, GKE Ingress (Google external Application Load
 * Balancer) with a Google-managed certificate, FrontendConfig (HTTPS redirect, SSL policy),
 * BackendConfig (health check on the readiness path, on the probe port) and container-native load balancing. The
 * load balancer's proxies and health checks reach the pods from {@link GOOGLE_LB_RANGES}.
 */
export class Networking extends pulumi.ComponentResource {
    /** The public IP address. */
    public readonly ipAddress: pulumi.Output<string>;
    /** The public URL of the site. */
    public readonly url: pulumi.Output<string>;

    constructor(name: string, args: NetworkingArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-platform:networking:Networking", name, {}, opts);
        const k8sOpts = { parent: this, provider: args.provider };
        const labels = labelsFor("networking", args.stack);

        const ip = new gcp.compute.GlobalAddress(`${name}-ip`, { project: args.project, addressType: "EXTERNAL" }, { parent: this });
        const sslPolicy = new gcp.compute.SSLPolicy(`${name}-ssl-policy`, {
            project: args.project,
            profile: args.sslPolicyProfile ?? "MODERN",
            minTlsVersion: "TLS_1_2",
        }, { parent: this });
        const certificate = new k8s.apiextensions.CustomResource(`${name}-cert`, {
            apiVersion: "networking.gke.io/v1",
            kind: "ManagedCertificate",
            metadata: { namespace: args.namespace, labels },
            spec: { domains: [args.domain] },
        }, k8sOpts);
        const frontend = new k8s.apiextensions.CustomResource(`${name}-frontend`, {
            apiVersion: "networking.gke.io/v1beta1",
            kind: "FrontendConfig",
            metadata: { namespace: args.namespace, labels },
            spec: { sslPolicy: sslPolicy.name, redirectToHttps: { enabled: true, responseCodeName: "MOVED_PERMANENTLY_DEFAULT" } },
        }, k8sOpts);
        new k8s.apiextensions.CustomResource(`${name}-backend`, {
            apiVersion: "cloud.google.com/v1",
            kind: "BackendConfig",
            metadata: { name: args.backendConfigName, namespace: args.namespace, labels },
            spec: {
                // On the pods' probe port (components/podTemplates.ts PROBE_PORT), whose threads page
                // traffic cannot fill: a busy pod is not a sick one. With container-native load
                // balancing the port is the Pod's containerPort.
                healthCheck: { type: "HTTP", requestPath: READINESS_PATH, port: PROBE_PORT, checkIntervalSec: 10, timeoutSec: 5, healthyThreshold: 1, unhealthyThreshold: 3 },
                connectionDraining: { drainingTimeoutSec: 30 },
                timeoutSec: LOAD_BALANCER_BACKEND_TIMEOUT_SECONDS,
                logging: { enable: true, sampleRate: 1.0 },
                securityPolicy: { name: args.securityPolicyName ?? "" },
            },
        }, k8sOpts);
        new k8s.networking.v1.Ingress(`${name}-ingress`, {
            metadata: {
                namespace: args.namespace,
                labels,
                annotations: {
                    "kubernetes.io/ingress.class": "gce",
                    "kubernetes.io/ingress.global-static-ip-name": ip.name,
                    "networking.gke.io/managed-certificates": certificate.metadata.name,
                    "networking.gke.io/v1beta1.FrontendConfig": frontend.metadata.name,
                    // HTTP stays open only to answer with the redirect to HTTPS.
                    "kubernetes.io/ingress.allow-http": "true",
                },
            },
            spec: { defaultBackend: { service: { name: args.serviceName, port: { number: args.servicePort } } } },
        }, k8sOpts);
        this.ipAddress = ip.address;
        this.url = pulumi.output(`https://${args.domain}/`);
        this.registerOutputs({ ipAddress: this.ipAddress, url: this.url });
    }
}
