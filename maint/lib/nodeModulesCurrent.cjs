#!/usr/bin/env node
/**
 * Exits 0 when `node_modules` already holds exactly what `package-lock.json` pins, so that
 * maint/install-deps.sh can skip a second `npm ci` after the README's first command ran one; exits 1
 * otherwise (then install-deps runs `npm ci`). Plain Node, no dependency: it runs before any
 * package is installed.
 *
 * npm keeps a "hidden lockfile", `node_modules/.package-lock.json`, with the `packages` entries of
 * what is installed, and trusts it instead of reading node_modules when "all package folders it
 * references exist", no other package folder exists, and it is at least as recent as those folders
 * (npm/cli docs/lib/content/configuring-npm/package-lock-json.md at v11.19.0, "Hidden Lockfiles";
 * https://docs.npmjs.com/cli/v11/configuring-npm/package-lock-json#hidden-lockfiles). node_modules
 * is the lockfile's when npm would trust the hidden lockfile by those rules, every package of
 * `package-lock.json` has the identical entry in it (one missing must be an optional package not
 * installed on this platform, such as esbuild's other platforms), it names nothing else, and
 * package.json asks for what the lockfile's root entry records (`npm ci` refuses a lockfile out of
 * sync with package.json).
 *
 * Usage: node maint/lib/nodeModulesCurrent.cjs [project directory, default: the current one]
 */
"use strict";
const fs = require("node:fs");
const path = require("node:path");

/** Why node_modules of `dir` is not the lockfile's, or undefined when it is. */
function staleReason(dir) {
    const read = (file) => JSON.parse(fs.readFileSync(path.join(dir, file), "utf8"));
    let lock;
    let hidden;
    let manifest;
    try {
        lock = read("package-lock.json");
        manifest = read("package.json");
    } catch (err) {
        return `cannot read package.json or package-lock.json: ${err.message}`;
    }
    let hiddenTime;
    try {
        hidden = read(path.join("node_modules", ".package-lock.json"));
        hiddenTime = fs.statSync(path.join(dir, "node_modules", ".package-lock.json")).mtimeMs;
    } catch {
        return "no node_modules/.package-lock.json (nothing installed yet)";
    }
    if (!lock.packages || !hidden.packages || (lock.lockfileVersion ?? 1) < 2) {
        return "the lockfile has no packages map (lockfileVersion 1)";
    }
    const root = lock.packages[""] ?? {};
    for (const field of ["dependencies", "devDependencies", "optionalDependencies", "peerDependencies"]) {
        if (JSON.stringify(root[field] ?? {}) !== JSON.stringify(manifest[field] ?? {})) {
            return `package.json ${field} differ from the lockfile's`;
        }
    }
    for (const [key, entry] of Object.entries(lock.packages)) {
        if (key === "") {
            continue;
        }
        const installed = hidden.packages[key];
        if (installed === undefined) {
            if (entry.optional) {
                continue;
            }
            return `${key} is not installed`;
        }
        if (JSON.stringify(installed) !== JSON.stringify(entry)) {
            return `${key} is installed at another version or from another source`;
        }
        if (!entry.link) {
            let folder;
            try {
                folder = fs.statSync(path.join(dir, key));
            } catch {
                return `${key} is recorded as installed but its folder is gone`;
            }
            if (folder.mtimeMs > hiddenTime) {
                return `${key} changed after the last install`;
            }
        }
    }
    // Top-level package folders (and scoped ones) that the hidden lockfile does not list.
    const top = path.join(dir, "node_modules");
    for (const name of fs.readdirSync(top)) {
        if (name.startsWith(".")) continue;
        const names = name.startsWith("@") ? fs.readdirSync(path.join(top, name)).map((n) => `${name}/${n}`) : [name];
        for (const n of names) {
            if (!(`node_modules/${n}` in hidden.packages)) {
                return `node_modules/${n} is not in the lockfile`;
            }
        }
    }
    for (const key of Object.keys(hidden.packages)) {
        if (!(key in lock.packages)) {
            return `${key} is installed but not in the lockfile`;
        }
    }
    return undefined;
}

if (require.main === module) {
    const reason = staleReason(path.resolve(process.argv[2] ?? "."));
    if (reason) {
        process.stderr.write(`install-deps: node_modules is not the lockfile's (${reason}): running npm ci\n`);
        process.exit(1);
    }
    process.stderr.write("install-deps: node_modules already holds exactly the lockfile's packages: no second npm ci\n");
}

module.exports = { staleReason };
