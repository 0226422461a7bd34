/**
 * The deployment files, checked where no image can be built (no base image can be pulled on the
 * machines Baton is developed and tested on; docs/deploy.md says so):
 * - the Dockerfile, parsed with dockerfile-ast, against the rules written below;
 * - compose.yaml against the Compose specification's JSON schema, vendored as
 *   test/deploy/compose-spec.json (source in test/deploy/README.md);
 * - deploy/kubernetes/*.yaml against the Kubernetes API schemas (kubernetes-models);
 * - the files against each other and against Baton: the probes hit routes that exist, the port is
 *   config.ts's, selectors match, and every variable handed to Baton is one it reads and one the
 *   README's configuration table lists.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { DockerfileParser, type Dockerfile, type Instruction, type Env, type Arg, type Healthcheck, type Copy } from 'dockerfile-ast';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { Ajv } from 'ajv';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Service } from 'kubernetes-models/v1/Service';
import { Secret } from 'kubernetes-models/v1/Secret';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { projectRoot } from '../../src/store/migrate.js';
import { loadConfig, secretEnvNames } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { parsePlaybook } from '../../src/playbook/load.js';

const root = projectRoot();
const read = (path: string) => readFileSync(join(root, path), 'utf8');

/** Names that must never be given a value in an image layer (ENV) or a build argument (ARG). */
const SECRET_NAME = /TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|PRIVATE|API_?KEY|DATABASE_URL/i;

// ─── Dockerfile ──────────────────────────────────────────────────────────────────────────────

interface Stage {
  from: Instruction;
  name: string | null;
  instructions: Instruction[];
}

function stagesOf(df: Dockerfile): Stage[] {
  const stages: Stage[] = [];
  for (const ins of df.getInstructions()) {
    if (ins.getKeyword() === 'FROM') {
      const from = df.getFROMs().find((f) => f.getRange().start.line === ins.getRange().start.line)!;
      stages.push({ from: ins, name: from.getBuildStage(), instructions: [] });
    } else {
      stages.at(-1)?.instructions.push(ins);
    }
  }
  return stages;
}

const withKeyword = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.getKeyword() === keyword);
const args = (ins: Instruction) => ins.getArgumentsContent() ?? '';

/** The lines of .dockerignore that are patterns. */
function dockerignorePatterns(): string[] {
  return read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

/** A tag that names a release: starts with a version number (20.20.2-bookworm-slim, 15.14, 2.10.2-alpine). */
const PINNED_TAG = /^\d+\.\d+(\.\d+)?([-.][a-z0-9.-]+)?$/;

/** image[:tag][@digest] → its problem, or undefined when it is pinned. */
function imagePinProblem(image: string): string | undefined {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return undefined;
  const lastSegment = image.split('/').at(-1)!;
  const tag = lastSegment.includes(':') ? lastSegment.split(':').at(-1)! : undefined;
  if (!tag) return `${image} has no tag (it would mean :latest)`;
  if (tag === 'latest') return `${image} uses :latest`;
  if (!PINNED_TAG.test(tag)) return `${image}: the tag ${tag} does not start with a version number (major.minor at least)`;
  return undefined;
}

describe('Dockerfile', () => {
  const df = DockerfileParser.parse(read('Dockerfile'));
  const stages = stagesOf(df);
  const final = stages.at(-1)!;

  it('is multi-stage: the final stage copies the build from an earlier stage', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const fromEarlier = withKeyword(final, 'COPY').map((c) => (c as Copy).getFromFlag()?.getValue());
    expect(fromEarlier).toContain(stages[0]!.name);
  });

  it('pins every base image to a version tag (never :latest, never untagged)', () => {
    const stageNames = new Set(stages.map((s) => s.name).filter(Boolean));
    const problems = df
      .getFROMs()
      .filter((f) => !stageNames.has(f.getImageName()))
      .map((f) => imagePinProblem(f.getImage() ?? ''))
      .filter(Boolean);
    expect(problems).toEqual([]);
    // The Node line the project declares (package.json engines ">=20.11").
    const minimum = JSON.parse(read('package.json')).engines.node.replace('>=', '').split('.').map(Number) as number[];
    for (const f of df.getFROMs().filter((f) => f.getImageName() === 'node')) {
      const [major, minor] = f.getImageTag()!.split(/[.-]/).map(Number) as [number, number];
      expect(major * 1000 + minor).toBeGreaterThanOrEqual(minimum[0]! * 1000 + minimum[1]!);
    }
  });

  it('runs the final stage as a non-root user, by number (so runAsNonRoot can verify it)', () => {
    const users = withKeyword(final, 'USER').map(args);
    expect(users.length).toBeGreaterThan(0);
    const last = users.at(-1)!;
    expect(last).toMatch(/^\d+(:\d+)?$/);
    expect(last.split(':')[0]).not.toBe('0');
    // Nothing runs after switching back to root.
    const lastUserLine = withKeyword(final, 'USER').at(-1)!.getRange().start.line;
    expect(withKeyword(final, 'RUN').filter((r) => r.getRange().start.line > lastUserLine)).toEqual([]);
  });

  it('installs production dependencies only in the final stage, from the lockfile', () => {
    const runs = withKeyword(final, 'RUN').map(args);
    expect(runs.some((r) => /\bnpm ci\b[^&;|]*--omit=dev/.test(r))).toBe(true);
    expect(runs.filter((r) => /\bnpm (install|i)\b/.test(r))).toEqual([]);
  });

  it('skips install scripts in the final stage only because no production dependency has one', () => {
    const runs = withKeyword(final, 'RUN').map(args);
    if (!runs.some((r) => /\bnpm ci\b.*--ignore-scripts/.test(r))) return;
    const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { hasInstallScript?: boolean; dev?: boolean; devOptional?: boolean }> };
    const prodWithScripts = Object.entries(lock.packages)
      .filter(([path, p]) => path !== '' && p.hasInstallScript && !p.dev && !p.devOptional)
      .map(([path]) => path);
    expect(prodWithScripts).toEqual([]);
  });

  it('has a HEALTHCHECK on /healthz, a route the server has', () => {
    const checks = withKeyword(final, 'HEALTHCHECK') as Healthcheck[];
    expect(checks).toHaveLength(1);
    expect(checks[0]!.getSubcommand()?.getValue()).toBe('CMD');
    expect(args(checks[0]!)).toContain('/healthz');
    expect(read('src/api/server.ts')).toContain("app.get('/healthz'");
  });

  it('exposes the port Baton listens on by default (src/config.ts), and sets no other', () => {
    const port = String(loadConfig({}, root).port);
    expect(withKeyword(final, 'EXPOSE').map(args)).toEqual([port]);
    const env = new Map(withKeyword(final, 'ENV').flatMap((e) => (e as Env).getProperties().map((p) => [p.getName(), p.getValue()] as const)));
    if (env.has('PORT')) expect(env.get('PORT')).toBe(port);
  });

  it('gives no secret-looking ENV or ARG a value, in any stage', () => {
    const named = [
      ...df.getENVs().flatMap((e) => e.getProperties().map((p) => ({ name: p.getName(), value: p.getValue() }))),
      ...df.getARGs().map((a: Arg) => ({ name: a.getProperty()?.getName() ?? '', value: a.getProperty()?.getValue() ?? null })),
    ];
    const secretNames = new RegExp(`${SECRET_NAME.source}|^(${secretEnvNames.join('|')})$`, 'i');
    expect(named.filter((n) => secretNames.test(n.name))).toEqual([]);
  });

  it('copies no .env file, and .dockerignore keeps env files, installs and data out of the context', () => {
    const sources = [...df.getCOPYs(), ...df.getInstructions().filter((i) => i.getKeyword() === 'ADD')].flatMap((c) => c.getArguments().slice(0, -1).map((a) => a.getValue()));
    expect(sources.filter((s) => /(^|\/)\.env(\.|$)|\.env$/.test(s))).toEqual([]);
    const patterns = dockerignorePatterns();
    for (const p of ['.env', '.env.*', '**/*.env', 'node_modules', '.baton-data', 'src/generated', '.git']) expect(patterns).toContain(p);
  });

  it('copies from the context only paths that exist and that .dockerignore lets through', () => {
    const ignoredTop = new Set(dockerignorePatterns().filter((p) => !p.includes('*')));
    const sources = df
      .getCOPYs()
      .filter((c) => !c.getFromFlag())
      .flatMap((c) => c.getArguments().slice(0, -1).map((a) => a.getValue()));
    expect(sources.length).toBeGreaterThan(0);
    for (const s of sources) {
      expect({ source: s, exists: existsSync(join(root, s)) }).toEqual({ source: s, exists: true });
      const prefixes = s.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
      expect({ source: s, ignoredBy: prefixes.filter((p) => ignoredTop.has(p)) }).toEqual({ source: s, ignoredBy: [] });
    }
  });

  it('starts node itself in exec form (SIGTERM reaches Baton; npm start would also recompile)', () => {
    const cmd = withKeyword(final, 'CMD');
    expect(cmd).toHaveLength(1);
    const argv = JSON.parse(args(cmd[0]!)) as string[];
    expect(argv[0]).toBe('node');
    expect(existsSync(join(root, argv[1]!.replace(/^dist\//, '').replace(/\.js$/, '.ts')))).toBe(true);
  });
});

// ─── compose.yaml ────────────────────────────────────────────────────────────────────────────

interface ComposeService {
  image?: string;
  build?: string | { context?: string };
  environment?: Record<string, string> | string[];
  env_file?: (string | { path: string })[] | string;
  depends_on?: Record<string, { condition?: string }> | string[];
  volumes?: string[];
}

const compose = parseYaml(read('compose.yaml'), { merge: true }) as { services: Record<string, ComposeService> };
const composeSchema = JSON.parse(read('test/deploy/compose-spec.json'));
const validateCompose = composeValidator();

/**
 * The schema names its meta-schema https://json-schema.org/draft-07/schema, an address Ajv knows as
 * http://json-schema.org/draft-07/schema#: the same draft-07, registered under both, so the schema
 * itself is checked too. strict: false because the schema uses annotations Ajv does not know
 * (`deprecated`).
 */
function composeValidator() {
  const ajv = new Ajv({ allErrors: true, strict: false });
  const draft07 = createRequire(import.meta.url)('ajv/dist/refs/json-schema-draft-07.json') as { $id: string };
  if (composeSchema.$schema !== draft07.$id) ajv.addMetaSchema({ ...draft07, $id: composeSchema.$schema });
  return ajv.compile(composeSchema);
}

/** The Baton services: those built from this repository's Dockerfile. */
const batonServices = Object.entries(compose.services).filter(([, s]) => s.build !== undefined);

function envFiles(s: ComposeService): string[] {
  const list = s.env_file === undefined ? [] : Array.isArray(s.env_file) ? s.env_file : [s.env_file];
  return list.map((e) => (typeof e === 'string' ? e : e.path));
}

/** KEY=VALUE lines of an env file (Compose's format: # comments, blank lines). */
function parseEnvFile(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of read(path).split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

function environmentOf(s: ComposeService): Record<string, string> {
  if (!s.environment) return {};
  if (!Array.isArray(s.environment)) return s.environment;
  return Object.fromEntries(s.environment.map((kv) => [kv.split('=')[0]!, kv.split('=').slice(1).join('=')]));
}

/** Every variable a compose service is given: its env files' examples, then `environment`. */
function composeEnv(s: ComposeService): Record<string, string> {
  return Object.assign({}, ...envFiles(s).map((f) => parseEnvFile(`${f}.example`)), environmentOf(s));
}

describe('compose.yaml', () => {
  it('is valid against the Compose specification schema', () => {
    const valid = validateCompose(compose);
    expect(validateCompose.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('is checked for real: a misspelt key or a bad value fails the same schema', () => {
    const misspelt = structuredClone(compose) as { services: Record<string, Record<string, unknown>> };
    misspelt.services['baton-1']!.enviroment = { LOG_LEVEL: 'info' };
    expect(validateCompose(misspelt)).toBe(false);
    const badValue = structuredClone(compose) as { services: Record<string, Record<string, unknown>> };
    badValue.services['postgres']!.depends_on = { 'baton-1': { condition: 'when_ready' } };
    expect(validateCompose(badValue)).toBe(false);
  });

  it('runs two Baton replicas of this Dockerfile on the compose PostgreSQL 15, started once it is healthy', () => {
    expect(batonServices.map(([name]) => name)).toHaveLength(2);
    const postgres = compose.services['postgres']!;
    expect(postgres.image).toMatch(/^postgres:15\./);
    for (const [, s] of batonServices) {
      expect(s.build).toBe('.');
      expect(s.depends_on).toMatchObject({ postgres: { condition: 'service_healthy' } });
      expect(composeEnv(s).DATABASE_URL).toMatch(/^postgresql:\/\/[^@]+@postgres:5432\//);
      expect(composeEnv(s).NODE_ENV).toBe('production');
    }
  });

  it('pins every image it pulls', () => {
    const problems = Object.values(compose.services)
      .filter((s) => s.build === undefined)
      .map((s) => imagePinProblem(s.image ?? '(no image)'))
      .filter(Boolean);
    expect(problems).toEqual([]);
  });

  it('takes secrets from env files that git ignores, each with a committed example holding no value', () => {
    const gitignore = read('.gitignore').split('\n');
    const secretNames = new RegExp(`${SECRET_NAME.source}|^(${secretEnvNames.join('|')})$`, 'i');
    for (const s of Object.values(compose.services)) {
      for (const [name] of Object.entries(environmentOf(s))) expect({ name, inComposeFile: secretNames.test(name) }).toEqual({ name, inComposeFile: false });
      for (const file of envFiles(s)) {
        expect(gitignore).toContain(file.replace(/[^/]+\.env$/, '*.env'));
        expect(existsSync(join(root, `${file}.example`))).toBe(true);
        for (const [name, value] of Object.entries(parseEnvFile(`${file}.example`))) {
          if (secretNames.test(name)) expect({ file, name, placeholder: value === '' || value.includes('REPLACE') }).toEqual({ file, name, placeholder: true });
        }
      }
    }
  });

  it('puts the proxy in front of exactly the Baton replicas, routing only to ready ones', () => {
    const proxy = compose.services['proxy']!;
    const mount = proxy.volumes!.find((v) => v.includes('Caddyfile'))!;
    const caddyfile = read(mount.split(':')[0]!.replace(/^\.\//, ''));
    const upstreams = /reverse_proxy\s+([^{]+)\{/.exec(caddyfile)![1]!.trim().split(/\s+/);
    const port = String(loadConfig({}, root).port);
    expect(upstreams.sort()).toEqual(batonServices.map(([name]) => `${name}:${port}`).sort());
    expect(caddyfile).toMatch(/health_uri \/readyz/);
    expect(read('src/api/server.ts')).toContain("app.get('/readyz'");
  });
});

// ─── Kubernetes ──────────────────────────────────────────────────────────────────────────────

interface Validatable {
  validate(): void;
}
type Manifest = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; [k: string]: unknown };

/** The API types Baton's manifests may use, each with its schema validator. */
const models: Record<string, (doc: Manifest) => Validatable> = {
  'apps/v1/Deployment': (d) => new Deployment(d as ConstructorParameters<typeof Deployment>[0]),
  'v1/Service': (d) => new Service(d as ConstructorParameters<typeof Service>[0]),
  'v1/Secret': (d) => new Secret(d as ConstructorParameters<typeof Secret>[0]),
  'v1/ConfigMap': (d) => new ConfigMap(d as ConstructorParameters<typeof ConfigMap>[0]),
  'policy/v1/PodDisruptionBudget': (d) => new PodDisruptionBudget(d as ConstructorParameters<typeof PodDisruptionBudget>[0]),
};

const K8S_DIR = 'deploy/kubernetes';
const manifestFiles = readdirSync(join(root, K8S_DIR)).filter((f) => /\.ya?ml$/.test(f)).sort();
const manifests: (Manifest & { file: string })[] = manifestFiles.flatMap((file) =>
  parseAllDocuments(read(`${K8S_DIR}/${file}`)).map((doc) => {
    if (doc.errors.length) throw new Error(`${K8S_DIR}/${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return { ...(doc.toJS() as Manifest), file };
  }),
);

function one<K extends string>(kind: K): Manifest {
  const found = manifests.filter((m) => m.kind === kind);
  expect(found.map((m) => m.kind)).toEqual([kind]);
  return found[0]!;
}

const deployment = () => one('Deployment') as unknown as { spec: { replicas: number; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: { securityContext: Record<string, unknown>; containers: IContainer[]; volumes: { name: string; configMap?: { name: string } }[] } } } };
const container = () => deployment().spec.template.spec.containers[0]!;
const containerEnv = () => Object.fromEntries((container().env ?? []).map((e) => [e.name, e.value ?? '']));
const secretData = () => (one('Secret') as unknown as { stringData: Record<string, string> }).stringData;

describe('deploy/kubernetes', () => {
  it('holds only known API types, each valid against its schema', () => {
    expect(manifests.length).toBeGreaterThanOrEqual(5);
    for (const m of manifests) {
      const model = models[`${m.apiVersion}/${m.kind}`];
      expect({ file: m.file, type: `${m.apiVersion}/${m.kind}`, known: Boolean(model) }).toEqual({ file: m.file, type: `${m.apiVersion}/${m.kind}`, known: true });
      const { file: _file, ...doc } = m;
      expect(() => model!(doc).validate()).not.toThrow();
      expect(m.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    }
  });

  it('is checked for real: a wrong type or a missing field fails the same schemas', () => {
    const d = structuredClone(one('Deployment')) as unknown as { spec: { template: { spec: { containers: { ports: { containerPort: unknown }[] }[] } } } };
    d.spec.template.spec.containers[0]!.ports[0]!.containerPort = 'three thousand';
    expect(() => models['apps/v1/Deployment']!(d as unknown as Manifest).validate()).toThrow(/containerPort/);
    const p = structuredClone(one('PodDisruptionBudget')) as Manifest & { spec: Record<string, unknown> };
    p.spec.minAvailable = { replicas: 1 };
    expect(() => models['policy/v1/PodDisruptionBudget']!(p).validate()).toThrow();
  });

  it('probes readiness on /readyz and liveness on /healthz, on the port Baton listens on', () => {
    const c = container();
    const port = loadConfig({}, root).port;
    expect(c.ports).toEqual([{ name: 'http', containerPort: port }]);
    expect(containerEnv().PORT ?? String(port)).toBe(String(port));
    expect(c.readinessProbe?.httpGet).toMatchObject({ path: '/readyz', port: 'http' });
    expect(c.livenessProbe?.httpGet).toMatchObject({ path: '/healthz', port: 'http' });
    const server = read('src/api/server.ts');
    expect(server).toContain("app.get('/readyz'");
    expect(server).toContain("app.get('/healthz'");
  });

  it('runs as a non-root user on a read-only root, with a pinned image', () => {
    const d = deployment();
    expect(d.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true });
    expect(d.spec.template.spec.securityContext.runAsUser).not.toBe(0);
    expect(container().securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(imagePinProblem(container().image!)).toBeUndefined();
  });

  it('keeps one Baton serving through rolling updates and disruptions, and the Service finds the pods', () => {
    const d = deployment() as ReturnType<typeof deployment> & { spec: { strategy: { rollingUpdate: { maxUnavailable: number } } } };
    const podLabels = d.spec.template.metadata.labels;
    expect(podLabels).toMatchObject(d.spec.selector.matchLabels);
    expect(d.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    const pdb = one('PodDisruptionBudget') as unknown as { spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } } };
    expect(podLabels).toMatchObject(pdb.spec.selector.matchLabels);
    expect(pdb.spec.minAvailable).toBeGreaterThanOrEqual(1);
    expect(pdb.spec.minAvailable).toBeLessThan(d.spec.replicas);
    const svc = one('Service') as unknown as { spec: { selector: Record<string, string>; ports: { targetPort: string }[] } };
    expect(podLabels).toMatchObject(svc.spec.selector);
    expect(svc.spec.ports.map((p) => p.targetPort)).toEqual(['http']);
  });

  it('takes its secrets from the Secret, whose template cannot start Baton as it is', () => {
    expect(container().envFrom).toEqual([{ secretRef: { name: one('Secret').metadata.name } }]);
    const secret = secretData();
    for (const [name, value] of Object.entries(secret)) expect({ name, placeholder: value === '' || value.includes('REPLACE') }).toEqual({ name, placeholder: true });
    // As applied: the empty API token refuses the start (NODE_ENV=production requires one).
    const asApplied = { ...secret, ...containerEnv() };
    expect(() => loadConfig(asApplied, root)).toThrow(ConfigError);
    expect(() => loadConfig(asApplied, root)).toThrow(/BATON_API_TOKEN/);
    // Filled in: the same set of variables makes a configuration Baton accepts, on PostgreSQL.
    const filled = loadConfig({ ...asApplied, BATON_API_TOKEN: 'a'.repeat(64) }, root);
    expect(filled.databaseUrl).toMatch(/^postgresql:\/\//);
    expect(filled.production).toBe(true);
  });

  it('mounts the playbook ConfigMap where BATON_PLAYBOOK points, holding the repository playbook', () => {
    const cm = one('ConfigMap') as unknown as { metadata: { name: string }; data: Record<string, string> };
    const volume = deployment().spec.template.spec.volumes.find((v) => v.configMap?.name === cm.metadata.name)!;
    const mount = container().volumeMounts!.find((m) => m.name === volume.name)!;
    const key = containerEnv().BATON_PLAYBOOK!.replace(`${mount.mountPath}/`, '');
    expect(Object.keys(cm.data)).toEqual([key]);
    const text = cm.data[key]!;
    // Regenerate with: npx tsx scripts/k8s-playbook-configmap.ts playbook.yml > deploy/kubernetes/playbook-configmap.yaml
    expect(text === read('playbook.yml')).toBe(true);
    expect(() => parsePlaybook(text, `${K8S_DIR}/playbook-configmap.yaml`)).not.toThrow();
    expect(Buffer.byteLength(JSON.stringify(cm.data))).toBeLessThan(1024 * 1024); // a ConfigMap's limit
  });
});

// ─── every variable documented and read ──────────────────────────────────────────────────────

/** The names in the first column of the README's "## Configuration" table. */
function readmeConfigurationNames(): Set<string> {
  const readme = read('README.md');
  const section = readme.slice(readme.indexOf('\n## Configuration'), readme.indexOf('\n## ', readme.indexOf('\n## Configuration') + 1));
  const names = section
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .flatMap((l) => [...l.split('|')[1]!.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1]!));
  return new Set(names);
}

/** Every variable the deployment files hand to a Baton process, with where. */
function variablesGivenToBaton(): { name: string; where: string }[] {
  const df = DockerfileParser.parse(read('Dockerfile'));
  const final = stagesOf(df).at(-1)!;
  return [
    ...withKeyword(final, 'ENV').flatMap((e) => (e as Env).getProperties().map((p) => ({ name: p.getName(), where: 'Dockerfile' }))),
    ...batonServices.flatMap(([service, s]) => Object.keys(composeEnv(s)).map((name) => ({ name, where: `compose.yaml ${service}` }))),
    ...Object.keys(containerEnv()).map((name) => ({ name, where: `${K8S_DIR} Deployment` })),
    ...Object.keys(secretData()).map((name) => ({ name, where: `${K8S_DIR} Secret` })),
  ];
}

describe('the variables the deployment files set', () => {
  it('are all listed in the README configuration table', () => {
    const documented = readmeConfigurationNames();
    expect(documented.size).toBeGreaterThan(10);
    expect(variablesGivenToBaton().filter((v) => !documented.has(v.name))).toEqual([]);
  });

  it('are all read by Baton (src/config.ts), so none is a typo that would be silently ignored', () => {
    const config = read('src/config.ts');
    const schema = config.slice(config.indexOf('const envSchema'), config.indexOf('export type Env'));
    const read_ = new Set([...schema.matchAll(/^\s{2}([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]!));
    expect(read_.has('DATABASE_URL')).toBe(true);
    expect(variablesGivenToBaton().filter((v) => !read_.has(v.name))).toEqual([]);
  });

  it('for the other containers (PostgreSQL, the proxy) are described in docs/deploy.md', () => {
    const docs = read('docs/deploy.md');
    const others = Object.entries(compose.services)
      .filter(([, s]) => s.build === undefined)
      .flatMap(([, s]) => Object.keys(composeEnv(s)));
    expect(others.length).toBeGreaterThan(0);
    expect(others.filter((name) => !docs.includes(`\`${name}\``))).toEqual([]);
  });
});
