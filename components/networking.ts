import * as gcp from "@pulumi/gcp";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { labelsFor } from "./kube";
import { GOOGLE_LB_RANGES } from "./networkPolicies";
import { READINESS_PATH, WEB_PORT } from "./podTemplates";

/** How traffic reaches the web pods. */
export type NetworkingMode = "ingress" | "loadbalancer";

/** Arguments of {@link Networking}. */
export interface NetworkingArgs {
    /** GCP project id. */
    readonly project: string;
    /** Region (for the loadbalancer mode's regional IP). */
    readonly region: string;
    /** Stack name, for labels. */
    readonly stack: string;
    /** Public host name (managed certificate). */
    readonly domain: string;
    /** `ingress` (GKE Ingress, HTTPS) or `loadbalancer` (the seed's Service). @default "ingress" */
    readonly mode?: NetworkingMode;
    /** SSL policy profile (TLS 1.2+). @default "MODERN" */
    readonly sslPolicyProfile?: "MODERN" | "RESTRICTED";
    /** Kubernetes provider and namespace. */
    readonly provider: k8s.Provider;
    readonly namespace: pulumi.Input<string>;
    /** The web Service (ingress mode) and the web pods' selector (loadbalancer mode). */
    readonly serviceName: pulumi.Input<string>;
    readonly servicePort: number;
    readonly webSelector: Record<string, string>;
    /** Name of the BackendConfig that {@link webServiceAnnotations} referenced. */
    readonly backendConfigName: string;
}

/** Annotations the web Service needs in each mode: container-native LB (NEG) and the BackendConfig. */
export function webServiceAnnotations(mode: NetworkingMode, backendConfigName: string): Record<string, string> {
    if (mode === "loadbalancer") {
        return {};
    }
    return {
        "cloud.google.com/neg": JSON.stringify({ ingress: true }),
        "cloud.google.com/backend-config": JSON.stringify({ default: backendConfigName }),
    };
}

/** Source ranges that reach the pods in each mode (for the web ingress NetworkPolicy). */
export function ingressSourceRanges(mode: NetworkingMode): readonly string[] {
    // A passthrough Network LB keeps client addresses, so pods see the whole internet.
    return mode === "ingress" ? GOOGLE_LB_RANGES : ["0.0.0.0/0"];
}

/**
 * How the world reaches Django. `ingress`: global static IP, GKE Ingress with a Google-managed
 * certificate, FrontendConfig (HTTPS redirect, SSL policy), BackendConfig (health check on the
 * readiness path) and container-native load balancing. `loadbalancer`: a regional static IP and a
 * Service of type LoadBalancer (plain HTTP, as in the seed).
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

        if ((args.mode ?? "ingress") === "loadbalancer") {
            const ip = new gcp.compute.Address(`${name}-ip`, { project: args.project, region: args.region, addressType: "EXTERNAL", networkTier: "PREMIUM" }, { parent: this });
            new k8s.core.v1.Service(`${name}-lb`, {
                metadata: { namespace: args.namespace, labels },
                spec: {
                    type: "LoadBalancer",
                    loadBalancerIP: ip.address,
                    externalTrafficPolicy: "Local",
                    selector: args.webSelector,
                    ports: [{ name: "http", port: 80, targetPort: WEB_PORT, protocol: "TCP" }],
                },
            }, k8sOpts);
            this.ipAddress = ip.address;
            this.url = pulumi.interpolate`http://${ip.address}/`;
        } else {
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
                    healthCheck: { type: "HTTP", requestPath: READINESS_PATH, port: WEB_PORT, checkIntervalSec: 10, timeoutSec: 5, healthyThreshold: 1, unhealthyThreshold: 3 },
                    connectionDraining: { drainingTimeoutSec: 30 },
                    timeoutSec: 30,
                    logging: { enable: true, sampleRate: 1.0 },
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
        }
        this.registerOutputs({ ipAddress: this.ipAddress, url: this.url });
    }
}
