import type { Lineage, ModelVersion } from './model.js';
import type { ModelSignature, TensorSpec } from './onnx-signature.js';

export interface ModelCardInput {
  version: ModelVersion;
  lineage: Lineage;
  signature: ModelSignature | undefined;
  metrics: Record<string, unknown>;
  params: Record<string, string>;
}

/** The default model card: what a reviewer needs before promoting a version, generated from the registry. */
export function renderModelCard({ version, lineage, signature, metrics, params }: ModelCardInput): string {
  const lines = [`# ${version.name} v${version.version}`, ''];
  if (version.description !== undefined) lines.push(version.description, '');
  lines.push('## Lineage', '');
  lines.push(
    `- Run: ${lineage.run_id ?? 'none'}${lineage.run_name === undefined ? '' : ` (${lineage.run_name})`}`,
  );
  if (lineage.experiment_id !== undefined) lines.push(`- Experiment: ${lineage.experiment_id}`);
  lines.push(`- Code version: ${lineage.git_commit ?? 'unknown'}`);
  if (lineage.source_name !== undefined) lines.push(`- Entry point: ${lineage.source_name}`);
  lines.push(`- Source: ${version.source}`);
  for (const d of lineage.datasets) {
    lines.push(
      `- Dataset${d.context === undefined ? '' : ` (${d.context})`}: ${d.name}, digest ${d.digest}, from ${d.source}`,
    );
  }
  lines.push('');
  if (signature !== undefined) {
    lines.push('## Signature', '', '| direction | name | datatype | shape |', '|---|---|---|---|');
    const row = (direction: string, t: TensorSpec) =>
      `| ${direction} | ${t.name} | ${t.datatype} | [${t.shape.join(', ')}] |`;
    for (const t of signature.inputs) lines.push(row('input', t));
    for (const t of signature.outputs) lines.push(row('output', t));
    lines.push('');
  }
  const metricKeys = Object.keys(metrics).sort();
  if (metricKeys.length > 0) {
    lines.push('## Metrics', '', '| metric | value |', '|---|---|');
    for (const key of metricKeys) lines.push(`| ${key} | ${String(metrics[key])} |`);
    lines.push('');
  }
  const paramKeys = Object.keys(params).sort();
  if (paramKeys.length > 0) {
    lines.push('## Parameters', '', '| param | value |', '|---|---|');
    for (const key of paramKeys) lines.push(`| ${key} | ${params[key]} |`);
    lines.push('');
  }
  return lines.join('\n');
}
