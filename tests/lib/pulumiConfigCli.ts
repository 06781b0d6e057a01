/**
 * What `pulumi config set` and `pulumi config rm` write into a stack file, emulated from the CLI's
 * documented behaviour and source, so that tests can feed a printed fix (or a documented command)
 * back through config validation exactly as the real CLI would store it. There is no Pulumi CLI on
 * the machines these tests run on.
 *
 * - `pulumi config set` reference (https://www.pulumi.com/docs/iac/cli/commands/pulumi_config_set/):
 *   "When setting the config for a path, "true" and "false" are treated as boolean values, and
 *   integers are treated as numbers. All other values are treated as strings. Top level entries are
 *   always treated as strings." `--type` "Save the value as the given type. Allowed values are
 *   string, bool, int, and float". Documented by pulumi/pulumi#18285
 *   (https://github.com/pulumi/pulumi/pull/18285); `--type` came with pulumi/pulumi#18287.
 * - pulumi/pulumi `sdk/go/common/resource/config/map.go` at c5647f7c9f58055fadc464fd5e978e954e37e4f3:
 *   `Map.Set` (a one-segment path sets the top-level value as given; a longer one adjusts the value,
 *   creates the containers on the way, an array for an integer segment and a map otherwise, and may
 *   append at index len) and `adjustObjectValue` (secure values as they are; "true"/"false" →
 *   boolean; a value of more than one character starting with "0" stays a string; what
 *   `strconv.Atoi` accepts → integer; "Otherwise, just return the string value"). `Map.Remove`
 *   deletes the leaf (an array element is cut out).
 * - Key paths: `a.b[0].c` and `["a.b"]` segments (`resource.ParsePropertyPath`); keys without a
 *   namespace belong to the project.
 *
 * `--secret` writes `{secure: …}` at the leaf (the ciphertext here is only a marker; nothing reads it).
 */

/** A parsed `pulumi config set|rm` command. */
export interface ConfigCommand {
    readonly verb: "set" | "rm";
    readonly key: string;
    readonly value?: string;
    readonly path: boolean;
    readonly secret: boolean;
    readonly type?: "string" | "int" | "float" | "bool";
    readonly stack?: string;
}

/** Splits a POSIX shell command line into words (single and double quotes, backslash escapes). */
export function shellWords(line: string): string[] {
    const words: string[] = [];
    let word: string | undefined;
    for (let i = 0; i < line.length; i++) {
        const c = line[i];
        if (c === "'") {
            const end = line.indexOf("'", i + 1);
            if (end < 0) throw new Error(`unterminated ' in ${line}`);
            word = (word ?? "") + line.slice(i + 1, end);
            i = end;
        } else if (c === '"') {
            word ??= "";
            for (i++; i < line.length && line[i] !== '"'; i++) {
                if (line[i] === "\\" && /["\\$`]/.test(line[i + 1] ?? "")) i++;
                word += line[i];
            }
            if (i >= line.length) throw new Error(`unterminated " in ${line}`);
        } else if (c === "\\") {
            word = (word ?? "") + (line[++i] ?? "");
        } else if (/\s/.test(c)) {
            if (word !== undefined) words.push(word);
            word = undefined;
        } else {
            word = (word ?? "") + c;
        }
    }
    if (word !== undefined) words.push(word);
    return words;
}

/** Parses the words of `pulumi config set|rm …`. */
export function parseConfigCommand(words: readonly string[]): ConfigCommand {
    if (words[0] !== "pulumi" || words[1] !== "config" || (words[2] !== "set" && words[2] !== "rm")) {
        throw new Error(`not a pulumi config set|rm command: ${words.join(" ")}`);
    }
    const positional: string[] = [];
    let path = false;
    let secret = false;
    let type: ConfigCommand["type"];
    let stack: string | undefined;
    for (let i = 3; i < words.length; i++) {
        const w = words[i];
        if (w === "--path") path = true;
        else if (w === "--secret") secret = true;
        else if (w === "--plaintext") secret = false;
        else if (w === "--type") type = words[++i] as ConfigCommand["type"];
        else if (w === "--stack" || w === "-s") stack = words[++i];
        else if (w === "--") positional.push(...words.slice(i + 1)), (i = words.length);
        else if (w.startsWith("-") && !/^-\d/.test(w)) throw new Error(`unknown flag ${w} in ${words.join(" ")}`);
        else positional.push(w);
    }
    if (type !== undefined && !["string", "int", "float", "bool"].includes(type)) {
        throw new Error(`--type ${type}: the CLI allows string, bool, int and float`);
    }
    const [key, value] = positional;
    if (key === undefined || (words[2] === "set" && value === undefined)) {
        throw new Error(`missing key or value in ${words.join(" ")}`);
    }
    return { verb: words[2], key, value, path, secret, type, stack };
}

/** The segments of a key path: `a.b[0]["c.d"]` → `a`, `b`, 0, `c.d`. */
export function parsePropertyPath(path: string): (string | number)[] {
    const out: (string | number)[] = [];
    let i = 0;
    let name = "";
    const flush = () => {
        if (name !== "") out.push(name);
        name = "";
    };
    while (i < path.length) {
        const c = path[i];
        if (c === ".") {
            flush();
            i++;
        } else if (c === "[") {
            flush();
            const quoted = /^\["((?:[^"\\]|\\.)*)"\]/.exec(path.slice(i));
            const index = /^\[(\d+)\]/.exec(path.slice(i));
            if (quoted) {
                out.push(quoted[1]);
                i += quoted[0].length;
            } else if (index) {
                out.push(Number(index[1]));
                i += index[0].length;
            } else {
                throw new Error(`invalid config key path ${path}: invalid array index`);
            }
        } else {
            name += c;
            i++;
        }
    }
    flush();
    return out;
}

/** A config value as the CLI stores it (`type` from --type, `path` for a value inside an object). */
export function storedValue(value: string, secret: boolean, path: boolean, type: ConfigCommand["type"]): unknown {
    if (secret) {
        return { secure: `v1:${Buffer.from(value).toString("base64")}` };
    }
    switch (type) {
        case "string":
            return value;
        case "int":
            if (!/^[+-]?\d+$/.test(value)) throw new Error(`--type int: ${value} is not an integer`);
            return Number(value);
        case "float":
            if (Number.isNaN(Number(value))) throw new Error(`--type float: ${value} is not a number`);
            return Number(value);
        case "bool": {
            // strconv.ParseBool
            if (["1", "t", "T", "TRUE", "true", "True"].includes(value)) return true;
            if (["0", "f", "F", "FALSE", "false", "False"].includes(value)) return false;
            throw new Error(`--type bool: ${value} is not a boolean`);
        }
    }
    if (!path) {
        return value;
    }
    // adjustObjectValue
    if (value === "false") return false;
    if (value === "true") return true;
    if (value.length > 1 && value[0] === "0") return value;
    if (/^[+-]?\d+$/.test(value) && Number.isSafeInteger(Number(value))) return Number(value);
    return value;
}

type Container = Record<string, unknown> | unknown[];

const isContainer = (v: unknown): v is Container => v !== null && typeof v === "object" && !("secure" in (v as object) && Object.keys(v as object).length === 1);

function newContainer(next: string | number): Container {
    return typeof next === "number" ? [] : {};
}

function setIn(container: Container, key: string | number, value: unknown, where: string): void {
    if (Array.isArray(container)) {
        if (typeof key !== "number") throw new Error(`${where}: key for an array must be an int`);
        if (key < 0 || key > container.length) throw new Error(`${where}: array index out of range`);
        container[key] = value;
    } else {
        if (typeof key !== "string") throw new Error(`${where}: key for a map must be a string`);
        container[key] = value;
    }
}

/** The namespaced key of a command's key (`workload.maxReplicas` → `django-platform:workload`, with its path). */
function splitKey(key: string, project: string, path: boolean): { top: string; rest: (string | number)[] } {
    const colon = key.indexOf(":");
    const [namespace, name] = colon >= 0 ? [key.slice(0, colon), key.slice(colon + 1)] : [project, key];
    if (!path) {
        return { top: `${namespace}:${name}`, rest: [] };
    }
    const segments = parsePropertyPath(name);
    if (typeof segments[0] !== "string") throw new Error(`first path segment of ${key} must be a string`);
    return { top: `${namespace}:${segments[0]}`, rest: segments.slice(1) };
}

/** Applies one `pulumi config set|rm` to a parsed stack file (its `config:` mapping), in place. */
export function applyConfigCommand(stackDoc: Record<string, unknown>, command: ConfigCommand, project: string): void {
    const config = ((stackDoc.config ??= {}) as Record<string, unknown>);
    // The CLI writes keys with their namespace; a hand-written file may hold a project key without it.
    const { top, rest } = splitKey(command.key, project, command.path);
    const bare = top.startsWith(`${project}:`) ? top.slice(project.length + 1) : top;
    const k = !(top in config) && bare in config ? bare : top;
    if (command.verb === "rm") {
        if (rest.length === 0) {
            delete config[k];
            return;
        }
        let container = config[k];
        for (const seg of rest.slice(0, -1)) {
            if (!isContainer(container)) return;
            container = (container as Record<string | number, unknown>)[seg];
        }
        const last = rest[rest.length - 1];
        if (Array.isArray(container) && typeof last === "number") container.splice(last, 1);
        else if (isContainer(container)) delete (container as Record<string | number, unknown>)[last];
        return;
    }
    const value = storedValue(command.value as string, command.secret, rest.length > 0, command.type);
    if (rest.length === 0) {
        config[k] = value;
        return;
    }
    if (!isContainer(config[k])) {
        if (config[k] !== undefined) throw new Error(`${command.key}: ${top} holds a ${typeof config[k]}, not an object`);
        config[k] = newContainer(rest[0]);
    }
    let container = config[k] as Container;
    rest.forEach((seg, i) => {
        if (i === rest.length - 1) {
            setIn(container, seg, value, command.key);
            return;
        }
        let next = (container as Record<string | number, unknown>)[seg];
        if (next === undefined) {
            next = newContainer(rest[i + 1]);
            setIn(container, seg, next, command.key);
        } else if (!isContainer(next)) {
            throw new Error(`${command.key}: ${String(seg)} holds a ${typeof next}, not an object`);
        }
        container = next as Container;
    });
}

/** The `pulumi config …` commands of a message's `Fix:` part, in order, each as words. */
export function fixCommands(message: string): { commands: string[][]; sequential: boolean } {
    const fix = message.slice(message.indexOf("Fix:"));
    const spans = [...fix.matchAll(/`(pulumi config (?:set|rm)[^`]*)`/g)];
    const commands = spans.map((m) => shellWords(m[1]));
    // "`a`, then `b`": both, in order; "`a`, or `b`" and "`a` (…) or `b`": the first one.
    const between = spans.slice(1).map((m, i) => fix.slice((spans[i].index ?? 0) + spans[i][0].length, m.index));
    const sequential = between.length > 0 && between.every((text) => /\bthen\b/.test(text) && !/\bor\b/.test(text));
    return { commands, sequential };
}
