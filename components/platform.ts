import * as pulumi from "@pulumi/pulumi";
import { PlatformConfig } from "../config";
import { Cache } from "./cache";
import { stackImages } from "./binaryAuthorization";
import { Cluster } from "./cluster";
import { Database } from "./database";
import { Dns } from "./dns";
import { Edge } from "./edge";
import { stackIdentities } from "./identities";
import { maxConnectionsForTier, RESERVED_CONNECTIONS } from "./connectionBudget";
import { Network } from "./network";
import { Networking, webServiceAnnotations } from "./networking";
import { Media } from "./media";
import { GOOGLE_LB_RANGES, cacheClientSelector } from "./networkPolicies";
import { Schedule } from "./schedules";
import { Worker } from "./workers";
import { Monitoring } from "./monitoring";
import { Statics } from "./statics";
import { Workload } from "./workload";

/**
 * The whole Django platform for one stack. It only wires its children together — network,
 * database, statics, cluster, cache, workload and networking — passing each the values it needs
 * and the typed outputs of its siblings.
 */
export class DjangoPlatform extends pulumi.ComponentResource {
    public readonly network: Network;
    public readonly database: Database;
    public readonly statics: Statics;
    public readonly cluster: Cluster;
    public readonly cache: Cache;
    public readonly workload: Workload;
    public readonly networking: Networking;
    /** Private media bucket (absent with media.enabled false). */
    public readonly media?: Media;
    /** Background workers by name (`workers.<name>`). */
    public readonly workers: Record<string, Worker> = {};
    /** CronJobs by name (`schedules.<name>`). */
    public readonly schedules: Record<string, Schedule> = {};
    /** Cloud Armor (absent with edge.armor.enabled false). */
    public readonly edge?: Edge;
    /** DNS records (created with dns.managedZone, else listed). */
    public readonly dns: Dns;
    /** Uptime check, alerts and dashboard (absent with monitoring.enabled false). */
    public readonly monitoring?: Monitoring;
    /** Public URL of the site. */
    public readonly url: pulumi.Output<string>;

    /**
     * @param name Prefix of every child's name.
     * @param cfg The validated stack config (see `config.ts`); validation has already run.
     */
    constructor(name: string, cfg: PlatformConfig, opts?: pulumi.ComponentResourceOptions) {
        super("django-platform:index:DjangoPlatform", name, {}, opts);
        const child = { parent: this };
        const { project, region, stack } = cfg;
        // The stack's Google service accounts: created by the IAM step (iam/), only looked up here.
        const identities = stackIdentities(cfg);

        this.network = new Network(`${name}-network`, {
            project,
            region,
            mode: cfg.network.mode,
            existingNetworkName: cfg.network.name,
            existingSubnetName: cfg.network.subnetName,
            subnetCidr: cfg.network.subnetCidr,
            podsCidr: cfg.network.podsCidr,
            servicesCidr: cfg.network.servicesCidr,
            podsRangeName: cfg.network.podsRangeName,
            servicesRangeName: cfg.network.servicesRangeName,
            privateServicesCidr: cfg.network.privateServicesCidr,
            existingPrivateServicesRangeName: cfg.network.privateServicesRangeName,
        }, child);

        const db = cfg.database;
        this.database = new Database(`${name}-database`, {
            project,
            region,
            networkId: this.network.networkId,
            privateServicesDependencies: this.network.privateServicesDependencies,
            tier: db.tier,
            version: db.version,
            edition: db.edition,
            highAvailability: db.highAvailability,
            diskSizeGb: db.diskSizeGb,
            backupsEnabled: db.backups.enabled,
            pointInTimeRecovery: db.backups.pointInTimeRecovery,
            retainedBackups: db.backups.retainedBackups,
            backupStartTime: db.backups.startTime,
            maintenanceWindow: db.maintenanceWindow,
            deletionProtection: db.deletionProtection,
            connector: db.connector,
            maxConnections: db.maxConnections,
            databaseName: db.name,
            userName: db.user,
            // Behind the Auth Proxy every identity that uses the database logs in as itself.
            iamUsers: identities.pods.filter((p) => p.iamDatabaseUser),
        }, child);

        const armor = cfg.edge.armor;
        if (armor.enabled) {
            this.edge = new Edge(`${name}-edge`, {
                project,
                preview: armor.preview,
                wafSensitivity: armor.wafSensitivity,
                rateLimitPerMinute: armor.rateLimitPerMinute,
                denyCountries: armor.denyCountries,
                denyCidrs: armor.denyCidrs,
                adaptiveProtection: armor.adaptiveProtection,
                cdn: cfg.statics.cdn.enabled,
            }, child);
        }

        this.statics = new Statics(`${name}-statics`, {
            project,
            location: cfg.statics.location ?? region,
            corsOrigins: cfg.statics.corsOrigins ?? [`https://${cfg.domain}`],
            cdnEnabled: cfg.statics.cdn.enabled,
            cdnDomain: cfg.statics.cdn.domain,
            sslPolicyProfile: cfg.networking.sslPolicyProfile,
            forceDestroy: cfg.statics.forceDestroy,
            accessLogs: cfg.accessLogs.enabled,
            access: cfg.statics.access,
            edgeSecurityPolicy: this.edge?.edgeSecurityPolicy,
        }, child);

        if (cfg.media.enabled) {
            this.media = new Media(`${name}-media`, {
                project,
                location: cfg.media.location ?? region,
                noncurrentVersionDays: cfg.media.noncurrentVersionDays,
                forceDestroy: cfg.media.forceDestroy,
                accessLogs: cfg.accessLogs.enabled,
            }, child);
        }

        this.cluster = new Cluster(`${name}-cluster`, {
            project,
            region,
            stack,
            mode: cfg.cluster.mode,
            existingName: cfg.cluster.name,
            existingLocation: cfg.cluster.location,
            networkId: this.network.networkId,
            subnetId: this.network.subnetId,
            podsRangeName: this.network.podsRangeName,
            servicesRangeName: this.network.servicesRangeName,
            masterCidr: cfg.cluster.masterCidr,
            masterAuthorizedNetworks: cfg.cluster.masterAuthorizedNetworks,
            releaseChannel: cfg.cluster.releaseChannel,
            deletionProtection: cfg.cluster.deletionProtection,
            namespace: cfg.cluster.namespace,
            nodeServiceAccountId: identities.nodes?.accountId,
            rbacSecurityGroup: cfg.cluster.rbacSecurityGroup,
            binaryAuthorization: { mode: cfg.security.binaryAuthorization, images: stackImages(cfg) },
        }, child);
        const namespace = this.cluster.namespace;

        this.cache = new Cache(`${name}-cache`, {
            mode: cfg.cache.mode,
            replicas: cfg.cache.replicas,
            stack,
            namespace,
            provider: this.cluster.provider,
            // Web pods and workers (networkPolicies.ts CACHE_CLIENT_LABELS).
            clientSelector: cacheClientSelector(stack),
            image: cfg.cache.image,
            maxMemoryMb: cfg.cache.maxMemoryMb,
            persistence: cfg.cache.persistence,
            project,
            region,
            networkId: this.network.networkId,
            privateServicesRangeName: this.network.privateServicesRangeName,
            privateServicesDependencies: this.network.privateServicesDependencies,
            memorySizeGb: cfg.cache.memorySizeGb,
            transitEncryption: cfg.cache.transitEncryption,
        }, child);

        const backendConfigName = `${name}-web`;
        this.workload = new Workload(`${name}-workload`, {
            project,
            stack,
            provider: this.cluster.provider,
            namespace,
            workloadPool: this.cluster.workloadPool,
            image: cfg.image,
            envInputs: {
                domain: cfg.domain,
                database: { ...this.database.connection, connMaxAge: cfg.workload.connMaxAge },
                cache: { locations: this.cache.locations, password: this.cache.password, caCertificate: this.cache.caCertificate },
                statics: { url: this.statics.url, bucketName: this.statics.bucketName },
                project,
                logLevel: cfg.workload.logLevel,
                exposure: { admin: cfg.app.admin, anonymousUploads: cfg.app.demo.anonymousUploads, anonymousTasks: cfg.app.demo.anonymousTasks },
                extraPlain: cfg.appEnv,
                extraSecrets: cfg.appSecretOutputs,
            },
            database: this.database.connection,
            databaseUsers: this.database.iamUsers,
            databaseCidr: this.network.privateServicesCidr,
            cache: { egress: this.cache.egressRules },
            egressAllowList: cfg.network.egressAllowList,
            privateGoogleAccess: this.network.privateGoogleAccess,
            statics: this.statics,
            minReplicas: cfg.workload.minReplicas,
            maxReplicas: cfg.workload.maxReplicas,
            targetCpuUtilization: cfg.workload.targetCpuUtilization,
            requestsPerThreadTarget: cfg.workload.requestsPerThreadTarget,
            cpu: cfg.workload.cpu,
            memory: cfg.workload.memory,
            gunicornWorkers: cfg.workload.gunicornWorkers,
            gunicornThreads: cfg.workload.gunicornThreads,
            serviceAnnotations: webServiceAnnotations(backendConfigName),
            ingressSourceRanges: GOOGLE_LB_RANGES,
            identities,
            media: this.media,
            settingsModule: cfg.workload.settingsModule,
            wsgiModule: cfg.workload.wsgiModule,
            spot: cfg.workload.spot,
        }, child);

        for (const [workerName, w] of Object.entries(cfg.workers)) {
            this.workers[workerName] = new Worker(`${name}-worker-${workerName}`, {
                workerName,
                command: w.command,
                minReplicas: w.minReplicas,
                maxReplicas: w.maxReplicas,
                targetCpuUtilization: w.targetCpuUtilization,
                cpu: w.cpu,
                memory: w.memory,
                terminationGracePeriodSeconds: w.terminationGracePeriodSeconds,
                pods: this.workload.podContext,
            }, child);
        }
        for (const [scheduleName, sch] of Object.entries(cfg.schedules)) {
            this.schedules[scheduleName] = new Schedule(`${name}-schedule-${scheduleName}`, {
                scheduleName,
                schedule: sch.schedule,
                command: sch.command,
                timeZone: sch.timeZone,
                concurrencyPolicy: sch.concurrencyPolicy,
                activeDeadlineSeconds: sch.activeDeadlineSeconds,
                pods: this.workload.podContext,
            }, child);
        }

        this.networking = new Networking(`${name}-networking`, {
            project,
            stack,
            domain: cfg.domain,
            sslPolicyProfile: cfg.networking.sslPolicyProfile,
            provider: this.cluster.provider,
            namespace,
            serviceName: this.workload.serviceName,
            servicePort: this.workload.servicePort,
            backendConfigName,
            securityPolicyName: this.edge?.securityPolicyName,
        }, child);
        this.url = this.networking.url;

        this.dns = new Dns(`${name}-dns`, {
            managedZone: cfg.dns.managedZone,
            project: cfg.dns.project ?? project,
            domain: cfg.domain,
            ipAddress: this.networking.ipAddress,
            cdnDomain: cfg.statics.cdn.enabled ? cfg.statics.cdn.domain : undefined,
            cdnIpAddress: this.statics.cdnIpAddress,
            ttl: cfg.dns.ttl,
            replaceExisting: cfg.dns.replaceExisting,
        }, child);

        if (cfg.monitoring.enabled) {
            // validateConfig has already refused a tier without a known max_connections.
            const maxConnections = cfg.database.maxConnections ?? maxConnectionsForTier(cfg.database.tier) ?? 0;
            this.monitoring = new Monitoring(`${name}-monitoring`, {
                project,
                stack,
                domain: cfg.domain,
                notificationEmails: cfg.monitoring.notificationEmails,
                siteLive: cfg.monitoring.siteLive,
                thresholds: cfg.monitoring.thresholds,
                instanceConnectionName: this.database.connection.instanceConnectionName,
                usableConnections: maxConnections - RESERVED_CONNECTIONS,
                cacheMode: cfg.cache.mode,
                namespace,
                webService: { name: this.workload.serviceName, port: this.workload.servicePort },
                webHpaName: this.workload.hpaName,
                cdnBackendName: this.statics.cdnBackendName,
            }, child);
        }

        this.registerOutputs({ url: this.url });
    }
}
