// deploy/kubernetes/ checked offline (no cluster runs here): every manifest against the
// Kubernetes API schemas (kubernetes-models: Kubernetes 1.27) with unknown fields refused, the
// KServe InferenceService against the PodSpec it embeds, and the values that tie them to the
// service: the real server, started with each container's args and env, answers its probes.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { Service } from 'kubernetes-models/v1/Service';
import { parseAllDocuments } from 'yaml';
import yargs from 'yargs';
import { builder as serveOptions } from '../src/commands/serve.js';
import { packagePath } from '../src/paths.js';
import { startServe } from './helpers.js';
import { type IInferenceService, validateInferenceService } from './kubernetes/kserve.js';
import { unknownFields } from './kubernetes/unknown-fields.js';

const DIR = packagePath('deploy', 'kubernetes');

/** Each kind the manifests may hold: its schema validation and the TypeScript type of it. */
const KINDS: Record<string, { validate(o: any): void; module: string; type: string }> = {
  'apps/v1 Deployment': { validate: (o) => new Deployment(o).validate(), module: 'kubernetes-models/apps/v1/Deployment', type: 'IDeployment' },
  'v1 Service': { validate: (o) => new Service(o).validate(), module: 'kubernetes-models/v1/Service', type: 'IService' },
  'autoscaling/v2 HorizontalPodAutoscaler': {
    validate: (o) => new HorizontalPodAutoscaler(o).validate(), module: 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler', type: 'IHorizontalPodAutoscaler',
  },
  'policy/v1 PodDisruptionBudget': { validate: (o) => new PodDisruptionBudget(o).validate(), module: 'kubernetes-models/policy/v1/PodDisruptionBudget', type: 'IPodDisruptionBudget' },
  'serving.kserve.io/v1beta1 InferenceService': { validate: validateInferenceService, module: './kserve.js', type: 'IInferenceService' },
};

const manifests = readdirSync(DIR, { recursive: true, encoding: 'utf8' })
  .filter((file) => file.endsWith('.yaml'))
  .sort()
  .flatMap((file) =>
    parseAllDocuments(readFileSync(`${DIR}/${file}`, 'utf8')).map((doc, i) => {
      if (doc.errors.length) throw new Error(`deploy/kubernetes/${file}: ${doc.errors[0].message}`);
      const object = doc.toJS();
      return { name: `deploy/kubernetes/${file}#${i} ${object.kind}`, object, kind: `${object.apiVersion} ${object.kind}` };
    }));
const one = <T>(kind: string): T => {
  const found = manifests.filter((m) => m.kind === kind);
  assert.equal(found.length, 1, `one ${kind} in deploy/kubernetes/`);
  return found[0].object as T;
};
const deployment = one<IDeployment>('apps/v1 Deployment');
const isvc = one<IInferenceService>('serving.kserve.io/v1beta1 InferenceService');
const pod = deployment.spec!.template.spec!;
const container = pod.containers[0];

// serve's flags, each also PYTORCH_INFER_<FLAG> (src/commands/options.ts: yargs .env()).
const SERVE_ENV = Object.keys((serveOptions(yargs([])) as unknown as { getOptions(): { key: Record<string, unknown> } }).getOptions().key)
  .map((flag) => `PYTORCH_INFER_${flag.replace(/-/g, '_').toUpperCase()}`);
/** args with the flag's value replaced, or the flag added (yargs makes a repeated flag an array). */
const withFlag = (args: string[], flag: string, value: string) =>
  args.includes(flag) ? args.map((a, i) => (args[i - 1] === flag ? value : a)) : [...args, flag, value];
const envOf = (c: IContainer) => Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? '']));

describe('Kubernetes and KServe manifests (deploy/kubernetes/)', () => {
  it('are each a kind we know, valid against its Kubernetes API schema', () => {
    assert.deepEqual(manifests.map((m) => m.kind).sort(), Object.keys(KINDS).sort(), 'one manifest of each kind');
    for (const m of manifests) assert.doesNotThrow(() => KINDS[m.kind].validate(m.object), `${m.name}`);
  });

  it('use no field the Kubernetes (or KServe) API does not know', () => {
    const typed = manifests.map((m) => ({ name: m.name, object: m.object, module: KINDS[m.kind].module, type: KINDS[m.kind].type }));
    assert.deepEqual(unknownFields(typed), []);
  });

  for (const [name, c, ...modelRoute] of [
    ['Deployment', container],
    ['InferenceService', isvc.spec.predictor.containers[0], `/v2/models/${isvc.metadata.name}/ready`],
  ] as [string, IContainer, ...string[]][]) {
    it(`${name}: its env names are serve's, and the real server so started answers its probes`, async () => {
      const env = envOf(c);
      for (const key of Object.keys(env)) assert.ok(SERVE_ENV.includes(key), `${key} is not one of serve's: ${SERVE_ENV.join(' ')}`);
      const port = Number(env.PYTORCH_INFER_PORT ?? 8080);
      assert.deepEqual(c.ports!.map((p) => p.containerPort), [port], 'the one container port is the one serve listens on');
      const probes = { startup: c.startupProbe, readiness: c.readinessProbe, liveness: c.livenessProbe };
      for (const [kind, probe] of Object.entries(probes)) {
        if (!probe) continue;
        const target = probe.httpGet!.port;
        assert.ok(target === port || c.ports!.some((p) => p.name === target && p.containerPort === port), `${kind} probe port ${target}`);
      }
      assert.equal(probes.readiness?.httpGet?.path, '/v2/health/ready');
      assert.equal(probes.liveness?.httpGet?.path, '/v2/health/live');

      // The container's own command line and env; only the address is this machine's.
      const args = withFlag(withFlag(c.args!, '--host', '127.0.0.1'), '--port', '0');
      const server = await startServe([...args, '--log-level', 'warn'], env);
      try {
        for (const path of [...Object.values(probes).map((p) => p?.httpGet?.path), ...modelRoute].filter(Boolean)) {
          assert.equal((await fetch(`${server.base}${path}`)).status, 200, `GET ${path}`);
        }
      } finally {
        await server.stop();
      }
    });

    it(`${name}: runs non-root, read-only, with no capabilities, and within resource limits`, () => {
      const security = { ...(name === 'Deployment' ? pod.securityContext : {}), ...c.securityContext };
      assert.equal(security.runAsNonRoot, true);
      assert.ok(security.runAsUser! > 0, 'a numeric non-root user: the kubelet cannot check a named one');
      assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
      assert.equal(c.securityContext?.allowPrivilegeEscalation, false);
      assert.deepEqual(c.securityContext?.capabilities?.drop, ['ALL']);
      for (const resource of ['cpu', 'memory']) {
        assert.ok(c.resources?.requests?.[resource] && c.resources?.limits?.[resource], `${resource} request and limit`);
      }
    });
  }

  it('the Deployment starts gated by readiness and drains within its grace period', () => {
    assert.equal(container.startupProbe?.httpGet?.path, '/v2/health/ready', 'no liveness verdict before the model is loaded');
    const startup = container.startupProbe!;
    assert.ok(startup.periodSeconds! * startup.failureThreshold! >= 60, 'a minute at least to load the model');
    const preStopMs = Number(container.lifecycle?.preStop?.exec?.command?.join(' ').match(/setTimeout\(.*?(\d+)\)/)?.[1]);
    assert.ok(preStopMs > 0, 'a preStop wait while the endpoint removal propagates');
    const timeoutMs = Number(envOf(container).PYTORCH_INFER_TIMEOUT_MS ?? 30_000);
    assert.ok(pod.terminationGracePeriodSeconds! * 1000 >= preStopMs + timeoutMs, 'grace ≥ preStop wait + request timeout');
    assert.equal(deployment.spec!.strategy?.rollingUpdate?.maxUnavailable, 0, 'a rollout never drops below the replicas asked for');
  });

  it('the Service, autoscaler and disruption budget all point at the Deployment', () => {
    const labels = deployment.spec!.template.metadata!.labels!;
    const selects = (selector: Record<string, string> | undefined) =>
      assert.ok(selector && Object.entries(selector).every(([k, v]) => labels[k] === v), `selector ${JSON.stringify(selector)} matches the pods`);
    assert.deepEqual(deployment.spec!.selector.matchLabels, labels);

    const service = one<Service>('v1 Service');
    selects(service.spec!.selector);
    const [servicePort] = service.spec!.ports!;
    assert.ok(container.ports!.some((p) => p.name === servicePort.targetPort || p.containerPort === servicePort.targetPort), 'targetPort is the container port');

    const hpa = one<HorizontalPodAutoscaler>('autoscaling/v2 HorizontalPodAutoscaler');
    assert.deepEqual(hpa.spec!.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata!.name });
    assert.equal(hpa.spec!.metrics?.[0].resource?.name, 'cpu');
    assert.ok(container.resources!.requests!.cpu, 'CPU utilisation is measured against the request');

    const pdb = one<PodDisruptionBudget>('policy/v1 PodDisruptionBudget');
    selects(pdb.spec!.selector!.matchLabels);
    assert.ok(Number(pdb.spec!.maxUnavailable) < hpa.spec!.minReplicas!, 'a drain leaves a replica serving');
  });

  it('the InferenceService is a custom predictor of the same image, named as its model', () => {
    const predictor = isvc.spec.predictor.containers[0];
    assert.equal(predictor.name, 'kserve-container', "KServe's name for the predictor's container");
    assert.equal(predictor.image, container.image);
    assert.equal(envOf(predictor).PYTORCH_INFER_MODEL_NAME, isvc.metadata.name, 'v2 URLs name the model as the InferenceService');
  });
});
