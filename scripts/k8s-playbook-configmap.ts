/**
 * Writes the Kubernetes ConfigMap that carries the playbook (deploy/kubernetes/playbook-configmap.yaml):
 *
 *   npx tsx scripts/k8s-playbook-configmap.ts [playbook.yml] > deploy/kubernetes/playbook-configmap.yaml
 *
 * The playbook is checked first, as Baton checks it at start, so a broken one never reaches the
 * cluster. The committed file carries the sample playbook.yml; test/deploy/deploy.test.ts fails
 * when the two differ.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { stringify } from 'yaml';
import { parsePlaybook } from '../src/playbook/load.js';

export const PLAYBOOK_CONFIGMAP = 'baton-playbook';
export const PLAYBOOK_KEY = 'playbook.yml';

export function playbookConfigMap(playbookText: string, source = PLAYBOOK_KEY): string {
  parsePlaybook(playbookText, source);
  const configMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: PLAYBOOK_CONFIGMAP, labels: { 'app.kubernetes.io/name': 'baton' } },
    data: { [PLAYBOOK_KEY]: playbookText },
  };
  const header =
    `# The playbook Baton reads at start (mounted at /etc/baton/playbook.yml by deployment.yaml).\n` +
    `# Generated from ${source}: npx tsx scripts/k8s-playbook-configmap.ts ${source} > deploy/kubernetes/playbook-configmap.yaml\n` +
    `# After applying a new one: kubectl rollout restart deployment/baton\n`;
  return header + stringify(configMap, { blockQuote: 'literal', lineWidth: 0 });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const path = process.argv[2] ?? PLAYBOOK_KEY;
  process.stdout.write(playbookConfigMap(readFileSync(path, 'utf8'), path));
}
