/**
 * Pure builders for the Django pods: the web container (gunicorn), its probes and the Job
 * containers. Kept apart from the Workload component so tests can read them directly.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { POD_IP_VARIABLE } from "./appEnv";
import { restrictedContainerSecurity } from "./kube";

type Container = k8s.types.input.core.v1.Container;

/** uid/gid of the app image's non-root user (app/Dockerfile creates it). */
export const APP_UID = 10001;
/** Port gunicorn listens on. */
export const WEB_PORT = 8000;
/** Liveness: the process is alive (no dependencies). */
export const LIVENESS_PATH = "/healthz/";
/** Readiness: the database is reachable. */
export const READINESS_PATH = "/readyz/";
/** Seconds the pod keeps serving after it is taken out of the load balancer. */
export const PRE_STOP_SECONDS = 10;
/** gunicorn's graceful timeout; the pod's grace period must exceed preStop + this. */
export const GRACEFUL_TIMEOUT_SECONDS = 25;

/** gunicorn's command line, workers and threads from config. */
export function gunicornCommand(workers: number, threads: number): string[] {
    return [
        "gunicorn", "config.wsgi:application",
        "--bind", `0.0.0.0:${WEB_PORT}`,
        "--workers", String(workers),
        "--threads", String(threads),
        "--worker-class", "gthread",
        "--timeout", "30",
        "--graceful-timeout", String(GRACEFUL_TIMEOUT_SECONDS),
        "--keep-alive", "5",
        "--worker-tmp-dir", "/tmp",
        "--access-logfile", "-",
        "--error-logfile", "-",
    ];
}

/** A short, stable, DNS-safe fingerprint of an image reference, for naming Jobs after it. */
export function imageFingerprint(image: string): string {
    return createHash("sha256").update(image).digest("hex").slice(0, 10);
}

/** Environment wiring shared by the web container and the Jobs. */
export interface EnvSources {
    readonly configMapName: pulumi.Input<string>;
    readonly secretName: pulumi.Input<string>;
}

function envFrom(sources: EnvSources): k8s.types.input.core.v1.EnvFromSource[] {
    return [{ configMapRef: { name: sources.configMapName } }, { secretRef: { name: sources.secretName } }];
}

/** The gunicorn web container with probes, resources and the restricted security context. */
export function webContainer(image: string, sources: EnvSources, sizing: { cpu: string; memory: string; workers: number; threads: number }): Container {
    const probe = (path: string) => ({ httpGet: { path, port: "http" } });
    return {
        name: "web",
        image,
        command: gunicornCommand(sizing.workers, sizing.threads),
        ports: [{ name: "http", containerPort: WEB_PORT, protocol: "TCP" }],
        envFrom: envFrom(sources),
        env: [{ name: POD_IP_VARIABLE, valueFrom: { fieldRef: { fieldPath: "status.podIP" } } }],
        startupProbe: { ...probe(LIVENESS_PATH), periodSeconds: 2, failureThreshold: 30, timeoutSeconds: 2 },
        livenessProbe: { ...probe(LIVENESS_PATH), periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 2 },
        readinessProbe: { ...probe(READINESS_PATH), periodSeconds: 5, failureThreshold: 2, timeoutSeconds: 3 },
        lifecycle: { preStop: { sleep: { seconds: PRE_STOP_SECONDS } } },
        resources: {
            requests: { cpu: sizing.cpu, memory: sizing.memory },
            limits: { memory: sizing.memory },
        },
        securityContext: restrictedContainerSecurity(APP_UID),
        volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
    };
}

/** A one-shot management command container (migrate, collectstatic). */
export function jobContainer(name: string, image: string, command: string[], sources: EnvSources): Container {
    return {
        name,
        image,
        command,
        envFrom: envFrom(sources),
        resources: { requests: { cpu: "250m", memory: "256Mi" }, limits: { memory: "512Mi" } },
        securityContext: restrictedContainerSecurity(APP_UID),
        volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
    };
}

/** The writable scratch volume for a read-only root filesystem. */
export const TMP_VOLUME: k8s.types.input.core.v1.Volume = { name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } };
