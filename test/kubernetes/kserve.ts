// KServe's v1beta1 InferenceService, the part a custom predictor uses, for validating
// deploy/kubernetes/kserve/ offline: no schema of it ships on npm, and KServe's CRD leaves the spec
// unvalidated (its webhook checks it in the cluster). The predictor is a Kubernetes PodSpec with
// KServe's component extension fields inline (serving.kserve.io/v1beta1 PredictorSpec).
import type { IObjectMeta } from '@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta';
import { ObjectMeta } from '@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { type IPodSpec, PodSpec } from 'kubernetes-models/v1/PodSpec';

interface ComponentExtension {
  minReplicas?: number;
  maxReplicas?: number;
  scaleTarget?: number;
  scaleMetric?: 'cpu' | 'memory' | 'concurrency' | 'rps';
  containerConcurrency?: number;
  timeout?: number;
  canaryTrafficPercent?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
// Typed so that it names every field of ComponentExtension and no other.
const EXTENSION_FIELDS: Record<keyof ComponentExtension, true> = {
  minReplicas: true, maxReplicas: true, scaleTarget: true, scaleMetric: true, containerConcurrency: true,
  timeout: true, canaryTrafficPercent: true, labels: true, annotations: true,
};

export interface IInferenceService {
  apiVersion: 'serving.kserve.io/v1beta1';
  kind: 'InferenceService';
  metadata: IObjectMeta & { name: string };
  spec: {
    predictor: Omit<IPodSpec, 'containers'> & { containers: IContainer[] } & ComponentExtension;
  };
}

/** Throws where the object breaks the Kubernetes schemas of ObjectMeta and PodSpec (with its Containers). */
export function validateInferenceService(isvc: IInferenceService): void {
  new ObjectMeta(isvc.metadata).validate();
  const pod = Object.fromEntries(Object.entries(isvc.spec.predictor).filter(([key]) => !(key in EXTENSION_FIELDS)));
  new PodSpec(pod as IPodSpec).validate();
}
